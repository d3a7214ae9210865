import type { Principal } from '@provenant/identity';
import type { Decision } from '@provenant/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresRegistryStore } from '../src/identity/registry-postgres.js';
import { PostgresPolicyStore } from '../src/policy/store-postgres.js';
import {
  externalPostgres,
  skipPostgres,
  startTestPostgres,
} from '../../../test/support/postgres.js';
import type { TestPostgres } from '../../../test/support/postgres.js';

const principal = (id: string, disabled = false) =>
  ({ id, kind: 'human', shared: false, disabled }) as unknown as Principal;
const decision = (id: string) =>
  ({ decision_id: id, policy_set: 'sha256:x', request: { n: id } }) as unknown as Decision;

describe.skipIf(skipPostgres())('registry and policy stores on PostgreSQL', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("hands another member's registry changes over once each, and decisions it made on demand", async () => {
    const url = await server.newDatabase();
    const [a, b] = await Promise.all([
      PostgresRegistryStore.open(url),
      PostgresRegistryStore.open(url),
    ]);
    a.savePrincipal(principal('user:carol'));
    a.saveRevocation('jti-9', 1_800_000_000);
    await a.flush();
    const first = await b.reload();
    expect(first.principals.map((p) => p.id)).toEqual(['user:carol']);
    expect(first.revocations.map((r) => r.jti)).toEqual(['jti-9']);
    expect(await b.reload()).toEqual({ principals: [], revocations: [] }); // nothing new
    a.savePrincipal(principal('user:carol', true)); // disabled elsewhere: a change
    await a.flush();
    expect((await b.reload()).principals).toMatchObject([{ id: 'user:carol', disabled: true }]);
    await Promise.all([a.end(), b.end()]);

    const [pa, pb] = await Promise.all([
      PostgresPolicyStore.open(url),
      PostgresPolicyStore.open(url),
    ]);
    pa.saveDecision(decision('d-elsewhere'));
    await pa.flush();
    expect(pb.getDecision('d-elsewhere')).toBeNull();
    await pb.ensureDecisions(['d-elsewhere', 'd-never']);
    expect(pb.getDecision('d-elsewhere')?.decision_id).toBe('d-elsewhere');
    expect(pb.getDecision('d-never')).toBeNull();
    await Promise.all([pa.end(), pb.end()]);
  });

  it('writes through and loads everything back on open', async () => {
    const url = await server.newDatabase();
    const now = 1_800_000_000;
    const r1 = await PostgresRegistryStore.open(url, now * 1000);
    r1.savePrincipal(principal('user:bob'));
    r1.savePrincipal(principal('user:alice'));
    r1.savePrincipal(principal('user:bob', true));
    r1.saveRevocation('jti-1', now);
    expect(r1.useAssertionJti('a-1', now + 60, now)).toBe(true);
    expect(r1.useAssertionJti('a-1', now + 60, now)).toBe(false);
    expect(r1.useAssertionJti('a-old', now - 1, now - 100)).toBe(true);
    await r1.flush();
    expect(r1.idle).toBe(true);
    await r1.end();

    const r2 = await PostgresRegistryStore.open(url, now * 1000);
    expect(r2.listPrincipals()).toEqual([principal('user:alice'), principal('user:bob', true)]);
    expect(r2.listRevocations()).toEqual([{ jti: 'jti-1', at: now }]);
    expect(r2.useAssertionJti('a-1', now + 60, now)).toBe(false); // replay across restarts
    expect(r2.useAssertionJti('a-old', now + 60, now)).toBe(true); // expired: usable again
    await r2.end();

    const p1 = await PostgresPolicyStore.open(url, { decisionCache: 2 });
    p1.savePolicySet('sha256:x', { files: [] }, now);
    for (const id of ['d1', 'd2', 'd3']) p1.saveDecision(decision(id));
    expect(p1.getDecision('d1')).toBeNull(); // beyond the in-memory window
    expect(p1.getDecision('d3')).toEqual(decision('d3'));
    await p1.end();
    const p2 = await PostgresPolicyStore.open(url, { decisionCache: 2 });
    expect(p2.getPolicySet('sha256:x')).toEqual({ files: [] });
    expect(p2.getDecision('d2')).toEqual(decision('d2'));
    expect(p2.getDecision('d3')).toEqual(decision('d3'));
    expect(p2.getDecision('d1')).toBeNull();
    await p2.end();
  });

  it.skipIf(externalPostgres)(
    'reports a write that PostgreSQL did not take, and recovers',
    async () => {
      const url = await server.newDatabase();
      const r = await PostgresRegistryStore.open(url);
      server.pause();
      try {
        r.savePrincipal(principal('user:carol'));
        await expect(r.flush()).rejects.toThrow();
      } finally {
        server.start();
      }
      r.savePrincipal(principal('user:dave'));
      await r.flush();
      await r.end();
      const again = await PostgresRegistryStore.open(url);
      expect(again.listPrincipals().map((p) => p.id)).toEqual(['user:dave']);
      await again.end();
    },
  );
});
