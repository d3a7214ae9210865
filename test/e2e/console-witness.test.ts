import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, skipBrowser } from '../support/browser.js';
import { generateCosignerKey } from '@provenant/ledger';
import { startCollector, startWitness } from '@provenant/server';
import type { RunningCollector, RunningWitness } from '@provenant/server';
import { CONSOLE_DIST } from '../../packages/server/src/routes/console.js';
import { record } from '../../packages/server/test/helpers.js';

const skip = skipBrowser();
const ORIGIN = 'console-witness.test/log';
const root = mkdtempSync(join(tmpdir(), 'provenant-console-witness-'));

let collector: RunningCollector;
let witness: RunningWitness;
let browser: Browser;

const options = (witnesses: { url: string; verifierKey: string }[]) => ({
  dataDir: join(root, 'data'),
  host: '127.0.0.1',
  port: 0,
  origin: ORIGIN,
  witnesses,
  witnessPolicy: witnesses.length,
  witnessIntervalMs: 60_000, // the test drives cosignNow() itself
  anonymousIngest: 'asserted' as const,
});

beforeAll(async () => {
  if (!existsSync(join(CONSOLE_DIST, 'index.html'))) {
    throw new Error('The console is not built: run `npm run build -w @provenant/console`.');
  }
  // The log key exists once the collector has started once.
  const first = await startCollector(options([]));
  const logKey = first.log.verifierKey;
  await first.close();
  witness = await startWitness({
    dataDir: join(root, 'witness'),
    host: '127.0.0.1',
    port: 0,
    logs: [`${ORIGIN}=${logKey}`],
    name: 'w.test/console',
  });
  collector = await startCollector(
    options([{ url: witness.url, verifierKey: witness.verifierKey }]),
  );
  const res = await fetch(`${collector.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([record({ action: { name: 'repo.read', resource: 'repo:acme/w' } })]),
  });
  expect(res.status).toBe(200);
  await collector.cosigner!.cosignNow();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await collector?.close();
  await witness?.close();
  rmSync(root, { recursive: true, force: true });
});

async function pin(page: Page, key: string): Promise<void> {
  await page.getByLabel('Witness verifier key').fill(key);
  await page.getByRole('button', { name: 'Pin witness' }).click();
}

/** The cosignature time (unix seconds) in the witness's line of a note. */
function cosignatureTime(note: string, name: string): number {
  const line = note.split('\n').find((l) => l.startsWith(`\u2014 ${name} `))!;
  const bytes = Buffer.from(line.split(' ')[2]!, 'base64');
  return Number(bytes.readBigUInt64BE(4));
}

describe.skipIf(skip)('web console: witness cosignatures', () => {
  it('checks the cosignature of each pinned witness in the browser', async () => {
    const note = await (await fetch(`${collector.url}/v1/log/checkpoint`)).text();
    expect(note).toContain('\u2014 w.test/console ');
    const time = new Date(cosignatureTime(note, 'w.test/console') * 1000).toISOString();

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${collector.url}/#/log`);
    await page.getByTestId('checkpoint').waitFor();
    expect(await page.getByTestId('log-size').innerText()).toContain('✓');

    // A malformed key is refused and not pinned.
    const other = generateCosignerKey('w.test/other').verifierKey;
    await pin(page, other.replace(/\+[0-9a-f]{8}\+/, '+00000000+'));
    expect(await page.getByTestId('witness-error').innerText()).toContain('key ID does not match');
    await pin(page, generateCosignerKey('w.test/x').verifierKey.replace('+B', '+A'));
    expect(await page.getByTestId('witness-error').innerText()).toMatch(/not 0x04|key id/);
    expect(await page.getByTestId('witness-row').count()).toBe(0);

    // The collector's witness: ✓ with its time.
    await pin(page, witness.verifierKey);
    await expect
      .poll(() => page.getByTestId('witness-summary').innerText())
      .toBe('1 of 1 witnesses cosigned');
    const row = page.getByTestId('witness-row').first();
    expect(await row.getByTestId('witness-verdict').innerText()).toMatch(/^✓ w\.test\/console/);
    expect(await row.getByTestId('witness-time').innerText()).toBe(time);

    // A witness that did not cosign: ✗ no cosignature.
    await pin(page, other);
    await expect
      .poll(() => page.getByTestId('witness-summary').innerText())
      .toBe('1 of 2 witnesses cosigned');
    expect(await page.getByTestId('witness-verdict').nth(1).innerText()).toBe(
      '✗ w.test/other: no cosignature',
    );
    expect(await page.evaluate(() => localStorage.getItem('provenant.console.witnessKeys'))).toBe(
      JSON.stringify([witness.verifierKey, other]),
    );

    // Pins survive a reload; the remove button unpins.
    await page.reload();
    await expect.poll(() => page.getByTestId('witness-row').count()).toBe(2);
    await page.getByRole('button', { name: 'Remove witness w.test/other' }).click();
    await expect
      .poll(() => page.getByTestId('witness-summary').innerText())
      .toBe('1 of 1 witnesses cosigned');

    // The cosignature edited on the way: ✗, though the log's own signature still verifies.
    await page.route('**/v1/log/checkpoint', async (route) => {
      const res = await route.fetch();
      const tampered = (await res.text()).replace(
        /^(\u2014 w\.test\/console \S{40})(\S)/m,
        (_, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'),
      );
      await route.fulfill({ response: res, body: tampered });
    });
    await page.reload();
    await expect
      .poll(() => page.getByTestId('witness-summary').innerText())
      .toBe('0 of 1 witnesses cosigned');
    expect(await page.getByTestId('witness-verdict').innerText()).toMatch(
      /^✗ w\.test\/console: the cosignature does not verify/,
    );
    expect(await page.getByTestId('log-size').innerText()).toContain('✓');
    expect(errors).toEqual([]);
    await context.close();
  });
});
