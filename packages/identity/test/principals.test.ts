import { describe, expect, it } from 'vitest';
import {
  MemoryPrincipalDirectory,
  PrincipalError,
  agentInstanceId,
  parsePrincipal,
} from '../src/index.js';
import { impliedKind, isPrincipalId } from '../src/principals.js';
import { clientKeys } from './helpers.js';

function problemField(input: unknown): string | undefined {
  try {
    parsePrincipal(input);
  } catch (e) {
    expect(e).toBeInstanceOf(PrincipalError);
    expect((e as PrincipalError).code).toBe('invalid_principal');
    return (e as PrincipalError).field;
  }
  return undefined;
}

describe('principal ids', () => {
  it('accepts the documented forms', () => {
    for (const id of [
      'user:alice',
      'user:alice@example.com',
      'spiffe://acme.test/agent/planner/instance/19c2',
      'spiffe://acme_test-1.example/ns/prod/sa/x.y',
      'workflow:nightly-backup',
      'service:github-mcp',
      'sa:ci-bot',
      'https://accounts.example.com#248289761001',
      'http://127.0.0.1:7400/realms/dev#f:3c1a',
    ]) {
      expect([id, isPrincipalId(id)]).toEqual([id, true]);
    }
  });

  it('refuses ids that break the SPIFFE or prefix rules', () => {
    for (const id of [
      '',
      'alice',
      'user:',
      'user:al ice',
      'spiffe://Acme.test/agent/a',
      'spiffe://acme.test',
      'spiffe://acme.test/',
      'spiffe://acme.test/agent//a',
      'spiffe://acme.test/agent/../a',
      'spiffe://acme.test/agent/a/',
      'spiffe://acme.test/agent/a?x=1',
      'spiffe://acme.test/agent/a#f',
      'spiffe://acme:80/agent/a',
      'spiffe://user@acme.test/agent/a',
      'https://accounts.example.com',
      'https://accounts.example.com?x=1#sub',
      'https://accounts.example.com# sub',
      'ftp://x#y',
      `user:${'a'.repeat(1100)}`,
    ]) {
      expect([id, isPrincipalId(id)]).toEqual([id, false]);
    }
  });

  it('builds agent instance ids and refuses invalid parts', () => {
    expect(agentInstanceId('acme.test', 'planner', '19c2')).toBe(
      'spiffe://acme.test/agent/planner/instance/19c2',
    );
    expect(() => agentInstanceId('ACME', 'planner', '1')).toThrow(PrincipalError);
    expect(() => agentInstanceId('acme.test', 'planner@3', '1')).toThrow(PrincipalError);
    expect(() => agentInstanceId('acme.test', 'planner', '')).toThrow(PrincipalError);
    expect(() => agentInstanceId('acme.test', 'a/b', '..')).toThrow(PrincipalError);
  });

  it('infers the kind an unregistered id implies', () => {
    expect(impliedKind('user:a')).toBe('human');
    expect(impliedKind('https://idp.example#1')).toBe('human');
    expect(impliedKind('sa:x')).toBe('service_account');
    expect(impliedKind('spiffe://t/agent/a/instance/1')).toBe('agent_instance');
    expect(impliedKind('spiffe://t/other')).toBeUndefined();
  });
});

describe('parsePrincipal', () => {
  it('parses a full agent instance and fills defaults', () => {
    const { publicJwk } = clientKeys('spiffe://acme.test/agent/planner/instance/19c2');
    const p = parsePrincipal({
      id: 'spiffe://acme.test/agent/planner/instance/19c2',
      kind: 'agent_instance',
      name: 'Planner 19c2',
      agent: 'planner@3',
      publicJwks: [publicJwk],
      mayAct: ['service:github-mcp'],
    });
    expect(p).toMatchObject({
      kind: 'agent_instance',
      agent: 'planner@3',
      shared: false,
      disabled: false,
    });
    expect(p.publicJwks?.[0]).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: publicJwk.x,
      kid: publicJwk.kid,
      alg: 'EdDSA',
    });
    expect(parsePrincipal(JSON.parse(JSON.stringify(p)))).toEqual(p);
  });

  it('parses humans, shared service accounts and ES256 keys', () => {
    expect(parsePrincipal({ id: 'user:alice', kind: 'human', scopes: ['repo:read'] })).toEqual({
      id: 'user:alice',
      kind: 'human',
      shared: false,
      disabled: false,
      scopes: ['repo:read'],
    });
    const { publicJwk } = clientKeys('sa:ci', 'ES256');
    expect(
      parsePrincipal({
        id: 'sa:ci',
        kind: 'service_account',
        shared: true,
        publicJwks: [publicJwk],
      }).shared,
    ).toBe(true);
  });

  it('refuses each invalid field, naming it', () => {
    const { publicJwk } = clientKeys('service:x');
    const ok = { id: 'service:x', kind: 'service' };
    expect(problemField(null)).toBe('');
    expect(problemField([])).toBe('');
    expect(problemField({ ...ok, extra: 1 })).toBe('extra');
    expect(problemField({ ...ok, kind: 'robot' })).toBe('kind');
    expect(problemField({ ...ok, id: 'nope' })).toBe('id');
    expect(problemField({ id: 'user:a', kind: 'service' })).toBe('kind');
    expect(problemField({ id: 'spiffe://t/a', kind: 'human' })).toBe('kind');
    expect(problemField({ id: 'https://idp.example#1', kind: 'agent_instance' })).toBe('kind');
    expect(problemField({ ...ok, shared: 'yes' })).toBe('shared');
    expect(problemField({ ...ok, shared: true })).toBe('shared');
    expect(problemField({ ...ok, disabled: 1 })).toBe('disabled');
    expect(problemField({ ...ok, name: '' })).toBe('name');
    expect(problemField({ ...ok, name: 'a\nb' })).toBe('name');
    expect(problemField({ ...ok, agent: 'planner@3' })).toBe('agent');
    expect(problemField({ id: 'user:a', kind: 'human', publicJwks: [publicJwk] })).toBe(
      'publicJwks',
    );
    expect(problemField({ ...ok, publicJwks: [] })).toBe('publicJwks');
    expect(problemField({ ...ok, publicJwks: [{ ...publicJwk, d: 'secret' }] })).toBe(
      'publicJwks[0]',
    );
    expect(problemField({ ...ok, publicJwks: [{ kty: 'oct', k: 'abc' }] })).toBe('publicJwks[0]');
    expect(problemField({ ...ok, publicJwks: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] })).toBe(
      'publicJwks[0]',
    );
    expect(problemField({ ...ok, publicJwks: [{ ...publicJwk, alg: 'ES256' }] })).toBe(
      'publicJwks[0]',
    );
    expect(problemField({ ...ok, publicJwks: [{ ...publicJwk, x: 'short' }] })).toBe(
      'publicJwks[0]',
    );
    expect(problemField({ ...ok, publicJwks: [publicJwk, { ...publicJwk }] })).toBe(
      'publicJwks[1]',
    );
    expect(problemField({ ...ok, mayAct: ['bad id'] })).toBe('mayAct[0]');
    expect(problemField({ ...ok, scopes: ['a b'] })).toBe('scopes');
  });
});

describe('MemoryPrincipalDirectory', () => {
  it('puts, gets, disables and lists', () => {
    const d = new MemoryPrincipalDirectory([
      { id: 'user:a', kind: 'human', shared: false, disabled: false },
    ]);
    expect(d.get('user:a')?.disabled).toBe(false);
    expect(d.disable('user:a')).toBe(true);
    expect(d.get('user:a')?.disabled).toBe(true);
    expect(d.disable('user:b')).toBe(false);
    expect(d.list()).toHaveLength(1);
  });
});
