import { StorageError } from '@provenant/ledger';
import type { Principal, VerifiedCredential } from '@provenant/identity';
import { CedarEngine, DEFAULT_AUDIT_RULES } from '@provenant/policy';
import { describe, expect, it } from 'vitest';
import { MemoryRegistryStore } from '../src/identity/registry.js';
import { PolicyService } from '../src/policy/service.js';
import { MemoryPolicyStore } from '../src/policy/store.js';
import { ADMIN, makeIdentityApp } from './identity-helpers.js';

/** A registry whose principal writes wait until released, or fail. */
class GatedRegistryStore extends MemoryRegistryStore {
  readonly waiting: (() => void)[] = [];
  failWith: Error | null = null;
  override async savePrincipal(principal: Principal): Promise<void> {
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failWith) throw this.failWith;
    await super.savePrincipal(principal);
  }
}

const until = async (what: string, ok: () => boolean): Promise<void> => {
  for (let i = 0; i < 2000 && !ok(); i++) await new Promise((r) => setImmediate(r));
  if (!ok()) throw new Error(`never: ${what}`);
};

const register = (app: Awaited<ReturnType<typeof makeIdentityApp>>['app'], id: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/principals',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ id, kind: 'human' }),
  });

describe('a route awaits its own registry write', () => {
  it('answers a registration only once the store has it, and only then serves it', async () => {
    const store = new GatedRegistryStore();
    const { app, identity, log } = await makeIdentityApp({}, store);
    let answered = false;
    const response = register(app, 'user:erin').then((r) => {
      answered = true;
      return r;
    });
    await until('the write reaches the store', () => store.waiting.length === 1);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    expect(identity.directory.get('user:erin')).toBeUndefined(); // not durable: not served
    store.waiting.shift()!();
    expect((await response).statusCode).toBe(201);
    expect(identity.directory.get('user:erin')?.id).toBe('user:erin');
    expect(log.size).toBe(1); // the registry change's own record
    await app.close();
  });

  it('refuses a registration the store did not take, serving and recording nothing', async () => {
    const store = new GatedRegistryStore();
    store.failWith = new StorageError('storage_unavailable', 'The registry is away.');
    const { app, identity, log } = await makeIdentityApp({}, store);
    const response = register(app, 'user:frank');
    await until('the write reaches the store', () => store.waiting.length === 1);
    store.waiting.shift()!();
    const answer = await response;
    expect(answer.statusCode).toBe(503);
    expect(answer.json().error.code).toBe('storage_unavailable');
    expect(identity.directory.get('user:frank')).toBeUndefined();
    expect(log.size).toBe(0);
    await app.close();
  });
});

describe('the decision point awaits its own decision write', () => {
  it('answers no decision the policy store did not take, and caches none', async () => {
    const store = new (class extends MemoryPolicyStore {
      override async saveDecision(): Promise<void> {
        throw new StorageError('storage_unavailable', 'The policy history is away.');
      }
    })();
    const policy = await PolicyService.open(new CedarEngine(), store, {
      auditRules: DEFAULT_AUDIT_RULES,
      hmacKey: new Uint8Array(32),
    });
    const t = Math.floor(Date.now() / 1000);
    const credential = {
      claims: { iss: 'x', sub: 'user:alice', aud: 'provenant', iat: t, exp: t + 60, jti: 'j' },
      subject: 'user:alice',
      actors: [],
      chain: ['user:alice'],
      scope: [],
      jti: 'j',
      iat: t,
      exp: t + 60,
      ancestors: [],
    } as unknown as VerifiedCredential;
    const seen: string[] = [];
    const point = policy.point;
    const decide = point.decide.bind(point);
    point.decide = async (...args) => {
      const d = await decide(...args);
      seen.push(d.decision_id);
      return d;
    };
    await expect(
      policy.decide(
        credential,
        { name: 'repo.read', resource: 'repo:x' },
        { get: () => undefined },
      ),
    ).rejects.toMatchObject({ code: 'storage_unavailable' });
    expect(seen).toHaveLength(1);
    expect(policy.getDecision(seen[0]!)).toBeNull();
    await policy.close();
  });
});
