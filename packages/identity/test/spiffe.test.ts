import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  MemoryPrincipalDirectory,
  MemoryReplayCache,
  SpiffeDirectory,
  SvidVerifier,
  jwksSource,
  matchesPathPattern,
  parseSpiffeId,
  type SpiffeTrustDomain,
} from '../src/index.js';
import { ALICE, ISS, PLANNER, TOKEN_ENDPOINT, rejection, world, type World } from './helpers.js';

const TD = 'acme.test';
const OTHER_TD = 'partner.test';

interface BundleKey {
  kid: string;
  privateKey: KeyObject;
  jwk: JWK;
}

function bundleKey(kid: string, curve: 'P-256' | 'ed25519' = 'P-256'): BundleKey {
  const { privateKey, publicKey } =
    curve === 'P-256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('ed25519');
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, use: 'jwt-svid' };
  return { kid, privateKey, jwk };
}

const dir = mkdtempSync(join(tmpdir(), 'spiffe-'));
let files = 0;

/** A SPIFFE bundle in its JWKS form, as SPIRE publishes it (with an X.509 root beside). */
function writeBundle(file: string, keys: BundleKey[]): void {
  const x509 = { kty: 'EC', crv: 'P-256', use: 'x509-svid', x: 'AA', y: 'AA', x5c: ['AA=='] };
  writeFileSync(
    `${file}.tmp`,
    JSON.stringify({ keys: [...keys.map((k) => k.jwk), x509], spiffe_sequence: files }),
  );
  renameSync(`${file}.tmp`, file);
}

interface Setup {
  w: World;
  key: BundleKey;
  bundleFile: string;
  svids: SvidVerifier;
  svid(
    over?: Record<string, unknown>,
    header?: Record<string, unknown>,
    key?: BundleKey,
  ): Promise<string>;
}

/** A world whose issuer takes JWT-SVIDs of acme.test (and partner.test) against files. */
function setup(patterns: string[] = []): Setup {
  const key = bundleKey('spire-2026-12');
  const bundleFile = join(dir, `bundle-${++files}.json`);
  writeBundle(bundleFile, [key]);
  const partnerFile = join(dir, `partner-${files}.json`);
  writeBundle(partnerFile, [bundleKey('partner-1')]);
  // The world's clock, once the world exists (the verifier is built before it).
  const late: { w?: World; directory?: SpiffeDirectory } = {};
  const clock = () => late.w!.clock.now();
  const domains: SpiffeTrustDomain[] = [
    {
      trustDomain: TD,
      bundle: jwksSource(bundleFile, { use: 'jwt-svid' }),
      pathPatterns: patterns,
    },
    { trustDomain: OTHER_TD, bundle: jwksSource(partnerFile, { use: 'jwt-svid' }) },
  ];
  const svids = new SvidVerifier({
    trustDomains: domains,
    replay: new MemoryReplayCache({ clock }),
    clock,
  });
  // The issuer sees the registry through the directory that admits pattern SVIDs.
  const w = world({
    issuer: { svids, directory: { get: (id) => late.directory!.get(id) } },
  });
  late.w = w;
  late.directory = new SpiffeDirectory(w.directory, svids);
  let n = 0;
  return {
    w,
    key,
    bundleFile,
    svids,
    svid: (over = {}, header = {}, signer = key) =>
      new SignJWT({
        sub: PLANNER,
        aud: [TOKEN_ENDPOINT],
        iat: w.clock.sec,
        exp: w.clock.sec + 300,
        jti: `svid-${++n}`,
        ...over,
      })
        .setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'JWT', ...header })
        .sign(signer.privateKey),
  };
}

describe('JWT-SVID client authentication', () => {
  it('issues a workload credential for a registered SPIFFE id, naming the bundle key', async () => {
    const s = setup();
    const issued = await s.w.issuer.clientCredentials(await s.svid());
    expect(issued.claims.sub).toBe(PLANNER);
    expect(issued.witness.grant).toBe('client_credentials');
    expect(issued.witness.authn).toEqual({
      method: 'jwt_svid',
      spiffeId: PLANNER,
      trustDomain: TD,
      kid: 'spire-2026-12',
    });
    // The credential it got verifies like any other.
    expect((await s.w.verifier.verify(issued.token)).subject).toBe(PLANNER);
  });

  it('takes an SVID as the actor token of an exchange: the SPIFFE id is the new actor', async () => {
    const s = setup();
    const alice = await s.w.alice();
    const delegated = await s.w.issuer.exchange({
      subjectToken: alice.token,
      subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      actorToken: await s.svid({ aud: ISS }),
      actorTokenType: 'urn:ietf:params:oauth:token-type:jwt',
    });
    const v = await s.w.verifier.verify(delegated.token);
    expect(v.subject).toBe(ALICE);
    expect(v.actors).toEqual([PLANNER]);
    expect(delegated.witness).toMatchObject({
      type: 'delegation.granted',
      actor: PLANNER,
      to: PLANNER,
      authn: { method: 'jwt_svid', spiffeId: PLANNER, kid: 'spire-2026-12' },
    });
  });

  it('admits an unregistered SVID whose path matches a pattern, and no other', async () => {
    const s = setup(['/agent/*/instance/*']);
    const stranger = `spiffe://${TD}/agent/summarizer/instance/42`;
    const issued = await s.w.issuer.clientCredentials(await s.svid({ sub: stranger }));
    expect(issued.claims.sub).toBe(stranger);
    expect(issued.claims.roles).toEqual(['producer']);
    const outside = await rejection(
      s.w.issuer.clientCredentials(await s.svid({ sub: `spiffe://${TD}/db/primary` })),
    );
    expect([outside.code, outside.details?.['code']]).toEqual([
      'invalid_client',
      'spiffe_id_not_allowed',
    ]);
    // Registering the id disabled stops its pattern's SVIDs.
    s.w.directory.put({ id: stranger, kind: 'agent_instance', shared: false, disabled: true });
    const disabled = await rejection(s.w.issuer.clientCredentials(await s.svid({ sub: stranger })));
    expect(disabled.details?.['code']).toBe('principal_disabled');
  });

  it('refuses an unregistered SPIFFE id where no pattern is configured', async () => {
    const s = setup();
    const e = await rejection(
      s.w.issuer.clientCredentials(await s.svid({ sub: `spiffe://${TD}/agent/x/instance/1` })),
    );
    expect(e.details?.['code']).toBe('spiffe_id_not_allowed');
  });

  const attacks: [string, (s: Setup) => Promise<string>, string][] = [
    ['a typ other than JWT or JOSE', (s) => s.svid({}, { typ: 'at+jwt' }), 'wrong_typ'],
    [
      'an audience other than this issuer',
      (s) => s.svid({ aud: 'spiffe://acme.test/other' }),
      'wrong_audience',
    ],
    ['no audience', (s) => s.svid({ aud: undefined }), 'missing_claim'],
    ['an expired SVID', (s) => s.svid({ exp: s.w.clock.sec - 60 }), 'expired'],
    ['no exp', (s) => s.svid({ exp: undefined }), 'missing_claim'],
    [
      'a lifetime beyond the ceiling',
      (s) => s.svid({ exp: s.w.clock.sec + 7200 }),
      'lifetime_too_long',
    ],
    [
      'a sub that is not a SPIFFE id',
      (s) => s.svid({ sub: 'spiffe://acme.test/a/../b' }),
      'invalid_spiffe_id',
    ],
    [
      'a header JWT-SVID forbids',
      (s) => s.svid({}, { jku: 'https://evil.example/keys' }),
      'malformed_token',
    ],
    [
      'EdDSA, not a JWT-SVID algorithm',
      async (s) => {
        const k = bundleKey('spire-2026-12', 'ed25519');
        return new SignJWT({ sub: PLANNER, aud: TOKEN_ENDPOINT, exp: s.w.clock.sec + 60 })
          .setProtectedHeader({ alg: 'EdDSA', kid: k.kid })
          .sign(k.privateKey);
      },
      'unsupported_alg',
    ],
    [
      'a key of another trust domain',
      (s) => s.svid({ sub: `spiffe://${OTHER_TD}/agent/planner/instance/19c2` }),
      'unknown_kid',
    ],
    [
      'a forged signature under the bundle kid',
      (s) => s.svid({}, {}, { ...bundleKey('spire-2026-12'), kid: 'spire-2026-12' }),
      'bad_signature',
    ],
  ];
  for (const [name, make, code] of attacks) {
    it(`refuses ${name} (${code}) as invalid_client`, async () => {
      const s = setup();
      const e = await rejection(s.w.issuer.clientCredentials(await make(s)));
      expect([e.code, e.details?.['code']]).toEqual(['invalid_client', code]);
    });
  }

  it('spends an SVID carrying a jti: a replay is refused', async () => {
    const s = setup();
    const token = await s.svid({ jti: 'once' });
    await s.w.issuer.clientCredentials(token);
    const e = await rejection(s.w.issuer.clientCredentials(token));
    expect(e.details?.['code']).toBe('token_replayed');
  });

  it('stops verifying SVIDs of a bundle key rotated out, at the next refresh', async () => {
    const s = setup();
    const next = bundleKey('spire-2027-01');
    writeBundle(s.bundleFile, [s.key, next]);
    await s.svids['domains'].get(TD)!.bundle.refresh();
    await s.w.issuer.clientCredentials(await s.svid({}, {}, next));
    const old = await s.svid();
    await s.w.issuer.clientCredentials(await s.svid());
    writeBundle(s.bundleFile, [next]);
    await s.svids['domains'].get(TD)!.bundle.refresh();
    const e = await rejection(s.w.issuer.clientCredentials(old));
    expect(e.details?.['code']).toBe('unknown_kid');
    await s.w.issuer.clientCredentials(await s.svid({}, {}, next));
  });

  it('keeps private_key_jwt for a SPIFFE-named workload registered with its own key', async () => {
    const s = setup();
    const { assertion } = await import('./helpers.js');
    const issued = await s.w.issuer.clientCredentials(
      await assertion(s.w.clients[PLANNER]!, s.w.clock),
    );
    expect(issued.claims.sub).toBe(PLANNER);
    expect(issued.witness.authn).toBeUndefined();
  });
});

describe('SpiffeDirectory', () => {
  /** A directory over an empty registry whose verifier counts the pattern checks. */
  function counted(max?: number) {
    const { svids } = setup(['/agent/*/instance/*']);
    const registry = new MemoryPrincipalDirectory();
    let checks = 0;
    const allows = svids.allowsUnregistered.bind(svids);
    svids.allowsUnregistered = (id) => {
      checks++;
      return allows(id);
    };
    const directory = new SpiffeDirectory(registry, svids, max);
    return { registry, directory, checks: () => checks };
  }
  const agent = (n: number) => `spiffe://${TD}/agent/a/instance/${n}`;

  it('checks the path patterns once per id, for an admitted and a refused one', () => {
    const d = counted();
    const first = d.directory.get(agent(1));
    expect(first).toEqual({ id: agent(1), kind: 'agent_instance', shared: false, disabled: false });
    expect(d.directory.get(agent(1))).toBe(first);
    expect(d.directory.get(`spiffe://${TD}/db/primary`)).toBeUndefined();
    expect(d.directory.get(`spiffe://${TD}/db/primary`)).toBeUndefined();
    expect(d.checks()).toBe(2);
    // The principal handed out is frozen: a caller cannot change the next answer.
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('answers from the registry first, so a registry change takes effect at once', () => {
    const d = counted();
    expect(d.directory.get(agent(1))?.disabled).toBe(false);
    d.registry.put({ id: agent(1), kind: 'agent_instance', shared: false, disabled: true });
    expect(d.directory.get(agent(1))?.disabled).toBe(true);
    d.registry.put({
      id: `spiffe://${TD}/db/primary`,
      kind: 'service',
      shared: false,
      disabled: false,
    });
    expect(d.directory.get(`spiffe://${TD}/db/primary`)?.kind).toBe('service');
    d.registry.delete(agent(1));
    expect(d.directory.get(agent(1))?.disabled).toBe(false);
  });

  it('keeps at most its bound of verdicts, and still answers correctly past it', () => {
    const d = counted(100);
    for (let i = 0; i < 250; i++) expect(d.directory.get(agent(i))?.id).toBe(agent(i));
    expect(d.directory['verdicts'].size).toBeLessThanOrEqual(100);
    expect(d.checks()).toBe(250);
    // Forgotten verdicts are checked again, with the same answer.
    expect(d.directory.get(agent(0))?.id).toBe(agent(0));
    expect(d.directory.get(`spiffe://${TD}/db/primary`)).toBeUndefined();
    expect(d.checks()).toBe(252);
  });
});

describe('SPIFFE ids and path patterns', () => {
  it('parses a SPIFFE id into trust domain and path, and refuses what the spec forbids', () => {
    expect(parseSpiffeId('spiffe://acme.test/ns/prod/sa/api')).toEqual({
      trustDomain: 'acme.test',
      path: '/ns/prod/sa/api',
    });
    for (const bad of [
      'spiffe://Acme.test/x',
      'spiffe://acme.test',
      'spiffe://acme.test/',
      'spiffe://acme.test/x/',
      'spiffe://acme.test//x',
      'spiffe://acme.test/%41',
      'spiffe://acme.test/x?y',
      'spiffe://user@acme.test/x',
      'spiffe://acme.test:443/x',
      'https://acme.test/x',
    ]) {
      expect(() => parseSpiffeId(bad), bad).toThrow(/not a SPIFFE id/);
    }
  });

  it('matches * as one segment and a final ** as one or more', () => {
    expect(matchesPathPattern('/agent/a/instance/1', '/agent/*/instance/*')).toBe(true);
    expect(matchesPathPattern('/agent/a/instance', '/agent/*/instance/*')).toBe(false);
    expect(matchesPathPattern('/agent/a/instance/1/x', '/agent/*/instance/*')).toBe(false);
    expect(matchesPathPattern('/ns/prod/sa/api', '/ns/prod/**')).toBe(true);
    expect(matchesPathPattern('/ns/prod', '/ns/prod/**')).toBe(false);
    expect(matchesPathPattern('/ns/staging/sa/api', '/ns/prod/**')).toBe(false);
  });
});
