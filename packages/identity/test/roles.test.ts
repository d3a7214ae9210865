import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  CredentialVerifier,
  defaultRoles,
  grantedRoles,
  parsePrincipal,
  parseRole,
} from '../src/index.js';
import {
  ALICE,
  AUD,
  CI,
  PLANNER,
  RESEARCHER,
  TOOL,
  assertion,
  rejection,
  world,
} from './helpers.js';

describe('roles in credentials (RFC 9068 roles claim)', () => {
  it('gives a workload producer by default and a human nothing', () => {
    expect(defaultRoles('agent_instance')).toEqual(['producer']);
    expect(defaultRoles('service_account')).toEqual(['producer']);
    expect(defaultRoles('human')).toEqual([]);
    expect(grantedRoles({ id: ALICE, kind: 'human', shared: false, disabled: false })).toEqual([]);
    // An explicit list is what the principal holds, defaults or not, in ROLES order.
    expect(
      grantedRoles({ id: TOOL, kind: 'service', shared: false, disabled: false, roles: [] }),
    ).toEqual([]);
    expect(
      grantedRoles({
        id: ALICE,
        kind: 'human',
        shared: false,
        disabled: false,
        roles: ['admin', 'analyst'],
      }),
    ).toEqual(['analyst', 'admin']);
  });

  it('carries only the granted roles in client_credentials, and none once revoked', async () => {
    const w = world();
    const get = async () =>
      w.issuer.clientCredentials(await assertion(w.clients[PLANNER]!, w.clock));
    const first = await get();
    expect(decodeJwt(first.token)['roles']).toEqual(['producer']);
    expect((await w.verifier.verify(first.token)).roles).toEqual(['producer']);
    expect(first.witness.roles).toEqual(['producer']);

    w.directory.put({ ...w.directory.get(PLANNER)!, roles: ['producer', 'auditor'] });
    expect(decodeJwt((await get()).token)['roles']).toEqual(['producer', 'auditor']);

    w.directory.put({ ...w.directory.get(PLANNER)!, roles: [] }); // producer revoked too
    const revoked = await get();
    expect(decodeJwt(revoked.token)['roles']).toEqual([]);
    expect((await w.verifier.verify(revoked.token)).roles).toEqual([]);
  });

  it('carries the human its granted roles at dev-login, none by default', async () => {
    const w = world();
    expect(decodeJwt((await w.alice()).token)['roles']).toEqual([]);
    w.directory.put({ ...w.directory.get(ALICE)!, roles: ['analyst'] });
    expect((await w.verifier.verify((await w.alice()).token)).roles).toEqual(['analyst']);
  });

  it('delegates at most producer, and only to an actor that holds it', async () => {
    const w = world();
    w.directory.put({ ...w.directory.get(ALICE)!, roles: ['analyst', 'auditor', 'admin'] });
    w.directory.put({ ...w.directory.get(PLANNER)!, roles: ['producer', 'analyst'] });
    const alice = await w.alice();
    const planner = await w.delegate(alice, PLANNER);
    // Neither alice's reading roles nor the planner's own analyst pass through a delegation.
    expect(decodeJwt(planner.token)['roles']).toEqual(['producer']);
    expect(planner.witness.roles).toEqual(['producer']);

    w.directory.put({ ...w.directory.get(RESEARCHER)!, roles: ['analyst'] }); // no producer
    const researcher = await w.delegate(planner, RESEARCHER);
    expect(decodeJwt(researcher.token)['roles']).toEqual([]);
    expect((await w.verifier.verify(researcher.token)).roles).toEqual([]);
  });

  it('stops counting a revoked role at once for a workload and a delegation, with a directory', async () => {
    const w = world();
    const verifier = new CredentialVerifier({
      issuers: [w.trusted],
      audience: AUD,
      clock: w.clock.now,
      revocations: w.revocations,
      directory: w.directory,
    });
    w.directory.put({ ...w.directory.get(ALICE)!, roles: ['analyst'] });
    const own = await w.issuer.clientCredentials(await assertion(w.clients[PLANNER]!, w.clock));
    const alice = await w.alice();
    const delegated = await w.delegate(alice, PLANNER);
    expect((await verifier.verify(own.token)).roles).toEqual(['producer']);
    expect((await verifier.verify(delegated.token)).roles).toEqual(['producer']);

    w.directory.put({ ...w.directory.get(PLANNER)!, roles: [] }); // producer revoked
    w.directory.put({ ...w.directory.get(ALICE)!, roles: [] }); // analyst revoked
    expect((await verifier.verify(own.token)).roles).toEqual([]); // a cache hit, re-checked
    expect((await verifier.verify(delegated.token)).roles).toEqual([]);
    // A human's own credential keeps its claim until it expires (mapped roles are not in the
    // registry); the claim itself is unchanged.
    expect((await verifier.verify(alice.token)).roles).toEqual(['analyst']);
    w.directory.put({ ...w.directory.get(PLANNER)!, roles: ['producer'] });
    expect((await verifier.verify(own.token)).roles).toEqual(['producer']);
  });

  it('signs a human in with the mapped roles plus the granted ones, within the ceiling', async () => {
    const w = world();
    w.directory.put({ ...w.directory.get(ALICE)!, roles: ['analyst'], scopes: ['repo:read'] });
    const signed = await w.issuer.signIn({ subject: ALICE, roles: ['auditor'] });
    expect(signed.claims).toMatchObject({ sub: ALICE, scope: 'repo:read' });
    expect(signed.claims.roles).toEqual(['analyst', 'auditor']);
    expect(signed.witness).toMatchObject({ grant: 'sign_in', roles: ['analyst', 'auditor'] });
    expect((await w.verifier.verify(signed.token)).roles).toEqual(['analyst', 'auditor']);

    const other = await w.issuer.signIn({ subject: 'https://idp.example#u-1', roles: [] });
    expect(other.claims.roles).toEqual([]);
    const wide = await rejection(w.issuer.signIn({ subject: ALICE, scope: ['repo:write'] }));
    expect(wide).toMatchObject({ code: 'invalid_scope' });
    expect(await rejection(w.issuer.signIn({ subject: PLANNER }))).toMatchObject({
      code: 'invalid_grant',
    });
    w.directory.disable(ALICE);
    expect(await rejection(w.issuer.signIn({ subject: ALICE }))).toMatchObject({
      code: 'invalid_grant',
      details: { code: 'principal_disabled' },
    });
    await expect(w.issuer.signIn({ subject: CI, roles: ['root'] })).rejects.toThrow(TypeError);
  });

  it('ignores roles it does not know in a verified token, and refuses a malformed claim', async () => {
    const w = world();
    const { SignJWT } = await import('jose');
    const key = w.keys.current();
    const sign = (roles: unknown) =>
      new SignJWT({ roles, scope: '' })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
        .setIssuer('http://127.0.0.1:7410')
        .setAudience('provenant')
        .setSubject(PLANNER)
        .setJti('j-1')
        .setIssuedAt(w.clock.sec)
        .setExpirationTime(w.clock.sec + 60)
        .sign(key.privateKey);
    expect((await w.verifier.verify(await sign(['producer', 'root']))).roles).toEqual(['producer']);
    expect(await rejection(w.verifier.verify(await sign('admin')))).toMatchObject({
      code: 'malformed_token',
      claim: 'roles',
    });
  });

  it('never registers roles with a principal, and knows only the four roles', () => {
    expect(() => parsePrincipal({ id: ALICE, kind: 'human', roles: ['admin'] })).toThrowError(
      /grant them one at a time/,
    );
    expect(parseRole('auditor')).toBe('auditor');
    expect(() => parseRole('root')).toThrowError(/producer, analyst, auditor, admin/);
  });
});
