/**
 * Redaction that holds (issue 14, item 5): a 4-digit PIN behind an audit rule that digests or
 * redacts it used to be recovered from the stored unkeyed `args_digest` by hashing 10,000
 * guesses. Now every digest the log keeps of it is keyed under the deployment key: the same
 * brute force finds nothing without the key, and finds the PIN with it (`digest-check`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf, hmacValue, keyedDigest, uuidv7 } from '@provenant/core';
import { startCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, main } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-digest-check-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PIN = '4711';
const PINS = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'));

function record(action: Record<string, unknown>, outcome: Record<string, unknown> = {}) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: 'agent:teller', kind: 'agent' },
    action,
    outcome: { status: 'success', ...outcome },
  };
}

/** Posted with the arguments (the collector digests), and as an agent that sends only digests. */
const withArgs = record({ name: 'bank.unlock', args: { pin: PIN } });
const redacted = record({ name: 'card.verify', args: { card: 'c-1', pin: PIN } });
const digestOnly = record(
  { name: 'bank.unlock', args_digest: digestOf({ pin: PIN }) },
  { result_digest: digestOf({ pin_ok: PIN }) },
);

let dataDir: string;
/** A record as the collector serves it (only the parts read here). */
interface Served {
  action: Record<string, unknown>;
  outcome: Record<string, unknown>;
}
let stored: Record<string, Served>;
let key: Uint8Array;

beforeAll(async () => {
  dataDir = join(root, 'data');
  const running = await startCollector({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    anonymousIngest: 'asserted',
    auditRules: {
      rules: [
        { match: { action: 'bank.*' }, level: 'digest' },
        { match: { action: 'card.*' }, level: 'redact', redact: ['pin'] },
      ],
      default: { match: {}, level: 'full' },
    },
  });
  try {
    const res = await fetch(`${running.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([withArgs, redacted, digestOnly]),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { accepted: unknown[] }).accepted).toHaveLength(3);
    stored = {};
    const admin = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    const read = { headers: { authorization: `Bearer ${admin}` } };
    for (const r of [withArgs, redacted, digestOnly]) {
      const res = await fetch(`${running.url}/v1/events/${r.id}`, read);
      stored[r.id] = (await res.json()) as Served;
    }
  } finally {
    await running.close();
  }
  key = new Uint8Array(
    Buffer.from(readFileSync(join(dataDir, 'audit-hmac.key'), 'utf8').trim(), 'base64'),
  );
});

/** Every string of a stored record. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (typeof v === 'object' && v !== null) return Object.values(v).flatMap(strings);
  return [];
}

describe('brute-forcing a redacted 4-digit PIN', () => {
  it('finds nothing without the key: no stored string is an unkeyed digest of any guess', () => {
    const guesses = new Set(
      PINS.flatMap((p) => [
        digestOf({ pin: p }),
        digestOf(p),
        digestOf({ pin_ok: p }),
        digestOf({ card: 'c-1', pin: p }),
      ]),
    );
    for (const r of Object.values(stored)) {
      const found = strings(r).filter((s) => guesses.has(s));
      expect(found).toEqual([]);
      expect(JSON.stringify(r)).not.toContain(`"${PIN}"`);
    }
    expect(stored[withArgs.id]!.action['args_digest']).toMatch(
      /^hmac-sha256:[0-9a-f]{8}:[0-9a-f]{64}$/,
    );
  });

  it('finds the PIN with the key, whether the collector saw the arguments or only a digest', () => {
    const byKeyedDigest = (stored: unknown) =>
      PINS.filter((p) => keyedDigest(key, { pin: p }) === stored);
    expect(byKeyedDigest(stored[withArgs.id]!.action['args_digest'])).toEqual([PIN]);
    expect(byKeyedDigest(stored[digestOnly.id]!.action['args_digest'])).toEqual([PIN]);
    const result = stored[digestOnly.id]!.outcome['result_digest'];
    expect(PINS.filter((p) => keyedDigest(key, { pin_ok: p }) === result)).toEqual([PIN]);
    const args = stored[redacted.id]!.action['args'] as Record<string, string>;
    expect(PINS.filter((p) => hmacValue(key, p) === args['pin'])).toEqual([PIN]);
  });
});

describe('provenant digest-check', () => {
  async function run(argv: string[]) {
    let out = '';
    let err = '';
    const status = await main(argv, { env: {}, out: (t) => (out += t), err: (t) => (err += t) });
    return { status, out, err };
  }

  it('tells a known value from a wrong one, with the key in the data folder', async () => {
    const yes = await run(['digest-check', '--data', dataDir, withArgs.id, '{"pin":"4711"}']);
    expect(yes).toMatchObject({ status: EXIT.ok });
    expect(yes.out).toContain('match    action.args_digest (keyed)');
    const no = await run(['digest-check', '--data', dataDir, withArgs.id, '{"pin":"4712"}']);
    expect(no.status).toBe(EXIT.verificationFailed);
    const result = await run([
      'digest-check',
      '--json',
      '--data',
      dataDir,
      digestOnly.id,
      '{"pin_ok":"4711"}',
    ]);
    expect(JSON.parse(result.out)).toMatchObject({
      matched: true,
      checks: [
        { field: 'action.args_digest', form: 'keyed', matches: false },
        { field: 'outcome.result_digest', form: 'keyed', matches: true },
      ],
    });
    const pin = await run(['digest-check', '--string', '--data', dataDir, redacted.id, PIN]);
    expect(pin.status).toBe(EXIT.ok);
    expect(pin.out).toContain('match    action.args.pin (redacted)');
  });

  it('finds nothing under another key, and says the digest names another key', async () => {
    const other = join(root, 'other.key');
    writeFileSync(other, `${Buffer.alloc(32, 9).toString('base64')}\n`);
    const r = await run([
      'digest-check',
      '--data',
      dataDir,
      '--key-file',
      other,
      withArgs.id,
      '{"pin":"4711"}',
    ]);
    expect(r.status).toBe(EXIT.verificationFailed);
    expect(r.out).toContain('not this one');
  });

  it('answers bad input with usage and unreadable exits', async () => {
    expect((await run(['digest-check', '--data', dataDir, withArgs.id])).status).toBe(EXIT.usage);
    expect((await run(['digest-check', '--data', dataDir, withArgs.id, '{nope'])).status).toBe(
      EXIT.usage,
    );
    expect((await run(['digest-check', '--data', dataDir, uuidv7(), '1'])).status).toBe(
      EXIT.unavailable,
    );
  });
});
