import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as verify from '@provenant/core/verify';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, skipBrowser } from '../support/browser.js';
import { deriveVectors } from '../../packages/ledger/test/verifier-derived.js';
import { loadVectors } from '../../packages/ledger/test/vectors.js';
import { runVectorCases } from '../support/verifier-vectors.js';
import type { CaseResult, MerkleVectors, NoteVectors } from '../support/verifier-vectors.js';

// The same vector cases as packages/ledger/test/verifier-vectors.test.ts, run inside Chromium
// against `@provenant/core/verify` bundled for the browser (platform browser: a node:* import
// would fail the bundle). Skipped only where there is no Chromium and this is not CI.
const skip = skipBrowser();
const ENTRY = fileURLToPath(new URL('./fixtures/verifier-browser-entry.ts', import.meta.url));

const merkle = loadVectors<MerkleVectors>('rfc6962-merkle.json');
const notes = loadVectors<NoteVectors & { valid_notes: { signer_key?: string }[] }>(
  'c2sp-signed-note.json',
);
const derived = deriveVectors(notes);

/** `entry` and all it imports, from the workspace sources, as one ES module for a page. */
async function bundleForBrowser(entry: string): Promise<string> {
  const out = await build({
    configFile: false,
    logLevel: 'silent',
    resolve: { conditions: ['@provenant/source', 'browser', 'module', 'import', 'default'] },
    build: {
      write: false,
      minify: false,
      target: 'es2022',
      lib: { entry, formats: ['es'], fileName: 'bundle' },
    },
  });
  const outputs = (Array.isArray(out) ? out : [out]) as {
    output: { type: string; code?: string }[];
  }[];
  const code = outputs.flatMap((o) => o.output).find((c) => c.type === 'chunk')?.code;
  if (!code) throw new Error(`nothing bundled from ${entry}`);
  return code;
}

let browser: Browser;
let server: Server;
let url: string;

beforeAll(async () => {
  if (skip) return;
  const code = await bundleForBrowser(ENTRY);
  expect(code).not.toMatch(/from\s*["']node:/);
  server = createServer((req, res) => {
    if (req.url === '/verifier.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
    } else {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><script type="module" src="/verifier.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // 127.0.0.1 is a secure context, so crypto.subtle is there as on an https console.
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

describe.skipIf(skip)('the runtime-neutral verifier in Chromium', () => {
  it('gives every vector case the result it has in Node', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => typeof globalThis.runVerifierVectors === 'function');
    const inBrowser: CaseResult[] = await page.evaluate(
      (data) => globalThis.runVerifierVectors(data),
      { merkle, notes, derived },
    );
    expect(inBrowser.filter((r) => r.got !== r.expect)).toEqual([]);
    const inNode = await runVectorCases(
      { ...verify, sha256: verify.webCrypto.sha256 },
      merkle,
      notes,
      derived,
    );
    expect(inBrowser).toEqual(inNode);
    expect(inBrowser.length).toBeGreaterThan(300);
    expect(errors).toEqual([]);
    await page.close();
  });
});
