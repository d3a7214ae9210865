import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '@provenant/policy';
import { startCollector } from '../src/index.js';
import { record } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-collector-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('startCollector', () => {
  it('runs the decision point on the policy engine it is given', async () => {
    const policiesDir = join(root, 'engine-policies');
    mkdirSync(policiesDir);
    writeFileSync(join(policiesDir, 'a.cedar'), 'permit-all\n');
    const engine = new MemoryEngine([{ id: 'permit-all', effect: 'permit', when: () => true }]);
    const running = await startCollector({
      dataDir: join(root, 'engine'),
      host: '127.0.0.1',
      port: 0,
      policiesDir,
      policyEngine: engine,
    });
    try {
      expect(running.policy.point.engine).toBe(engine);
      expect(running.policy.point.current()?.policyIds).toEqual(['permit-all']);
    } finally {
      await running.close();
    }
  });

  it('creates a 0600 signing key on first start and keeps the log and key across restarts', async () => {
    const dataDir = join(root, 'a');
    const first = await startCollector({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      origin: 'restart.test/log',
      anonymousIngest: 'asserted',
    });
    const key = (await (await fetch(`${first.url}/v1/log/key`)).text()).trim();
    // Not privileged: without a credential, privileged actions are refused by default.
    const r = record({ action: { name: 'repo.read', resource: 'repo:acme/payments' } });
    const posted = await fetch(`${first.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(r),
    });
    expect(posted.status).toBe(200);
    await first.close();
    expect(statSync(join(dataDir, 'log-signer.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dataDir, 'log-signer.key'), 'utf8')).toMatch(
      /^PRIVATE\+KEY\+restart\.test\/log\+/,
    );

    const second = await startCollector({ dataDir, host: '127.0.0.1', port: 0 });
    expect((await (await fetch(`${second.url}/v1/log/key`)).text()).trim()).toBe(key);
    // The admin token created on first start is the same after the restart.
    const admin = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    const stored = await fetch(`${second.url}/v1/events/${r['id']}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(stored.status).toBe(200);
    expect((await fetch(`${second.url}/v1/events/${r['id']}`)).status).toBe(401);
    expect(second.log.size).toBe(1);
    await second.close();
  });

  it('refuses anonymous records by default (anonymousIngest off)', async () => {
    const c = await startCollector({ dataDir: join(root, 'anon'), host: '127.0.0.1', port: 0 });
    try {
      const posted = await fetch(`${c.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(record({ action: { name: 'repo.read', resource: 'repo:a/b' } })),
      });
      expect(posted.status).toBe(401);
      expect(((await posted.json()) as { error: { code: string } }).error.code).toBe(
        'credential_required',
      );
      expect(c.log.size).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('refuses to start a data folder under another origin', async () => {
    const dataDir = join(root, 'b');
    const c = await startCollector({ dataDir, host: '127.0.0.1', port: 0, origin: 'one.test/log' });
    await c.close();
    await expect(
      startCollector({ dataDir, host: '127.0.0.1', port: 0, origin: 'two.test/log' }),
    ).rejects.toMatchObject({ code: 'log_key_mismatch' });
  });
});
