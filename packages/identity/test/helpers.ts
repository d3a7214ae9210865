/**
 * A small world for the tests: a frozen clock, an issuer with its key ring, and the DESIGN.md
 * cast (alice → planner → researcher → tool) registered with their own key pairs.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, createLocalJWKSet, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import {
  CredentialVerifier,
  Issuer,
  IssuerKeyRing,
  MemoryPrincipalDirectory,
  MemoryReplayCache,
  MemoryRevocationStore,
  keyRingIssuer,
  type ExchangePolicy,
  type IssuedCredential,
  type IssuerOptions,
  type Principal,
  type SigningKey,
  type TrustedIssuer,
} from '../src/index.js';

export const T0 = Date.UTC(2026, 10, 27, 13, 0, 0);
export const ISS = 'http://127.0.0.1:7410';
export const AUD = 'provenant';
export const TOKEN_ENDPOINT = `${ISS}/v1/token`;

export const ALICE = 'user:alice';
export const BOB = 'user:bob';
export const PLANNER = 'spiffe://acme.test/agent/planner/instance/19c2';
export const RESEARCHER = 'spiffe://acme.test/agent/researcher/instance/7f3a';
export const TOOL = 'service:github-mcp';
export const CI = 'sa:ci-bot';

export interface Client {
  id: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

/** A workload key pair; its public JWK carries `kid`. */
export function clientKeys(id: string, alg: 'EdDSA' | 'ES256' = 'EdDSA', kid = `${id}#k1`): Client {
  const { privateKey, publicKey } =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = publicKey.export({ format: 'jwk' }) as JWK;
  publicJwk.kid = kid;
  publicJwk.alg = alg;
  return { id, privateKey, publicJwk };
}

export class FrozenClock {
  constructor(public ms = T0) {}
  readonly now = (): number => this.ms;
  get sec(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

let assertionCounter = 0;

/** An RFC 7523 client assertion signed by `client` (overridable for attacks). */
export async function assertion(
  client: Client,
  clock: FrozenClock,
  over: {
    aud?: string;
    exp?: number;
    jti?: string;
    iss?: string;
    sub?: string;
    key?: KeyObject;
    kid?: string | null;
    alg?: string;
  } = {},
): Promise<string> {
  const payload: JWTPayload = {
    iss: over.iss ?? client.id,
    sub: over.sub ?? client.id,
    aud: over.aud ?? TOKEN_ENDPOINT,
    iat: clock.sec,
    exp: over.exp ?? clock.sec + 60,
    jti: over.jti ?? `assertion-${++assertionCounter}`,
  };
  const kid = over.kid === undefined ? client.publicJwk.kid : over.kid;
  return new SignJWT(payload)
    .setProtectedHeader({
      alg: over.alg ?? (client.publicJwk.alg as string),
      ...(kid === null ? {} : { kid }),
    })
    .sign(over.key ?? client.privateKey);
}

/** Signs arbitrary claims with an issuer key: how tests craft tokens the issuer never minted. */
export function signWith(
  key: SigningKey,
  payload: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })
    .sign(key.privateKey);
}

export const POLICY: ExchangePolicy = {
  defaultLifetimeSec: 300,
  maxLifetimeSec: 3600,
  maxChainDepth: 4,
};

export interface World {
  clock: FrozenClock;
  keys: IssuerKeyRing;
  directory: MemoryPrincipalDirectory;
  revocations: MemoryRevocationStore;
  replay: MemoryReplayCache;
  verifier: CredentialVerifier;
  issuer: Issuer;
  trusted: TrustedIssuer;
  clients: Record<string, Client>;
  /** How many times the verifier asked for a key. */
  keyLookups: () => number;
  /** A credential for alice (dev login) with the given scopes. */
  alice(scope?: string[]): Promise<IssuedCredential>;
  /** Exchanges `subject` for a credential held by `actor`. */
  delegate(subject: IssuedCredential, actor: string, scope?: string[]): Promise<IssuedCredential>;
}

export function registerWorkload(
  directory: MemoryPrincipalDirectory,
  client: Client,
  p: Partial<Principal> & Pick<Principal, 'kind'>,
): void {
  directory.put({
    id: client.id,
    shared: false,
    disabled: false,
    publicJwks: [client.publicJwk],
    ...p,
  });
}

export function world(
  opts: {
    policy?: ExchangePolicy;
    verifierOptions?: { maxTokenBytes?: number; cacheSize?: number };
    idTokenIssuers?: TrustedIssuer[];
    /** More issuer options (e.g. `defaultScopeCeiling`). */
    issuer?: Partial<IssuerOptions>;
  } = {},
): World {
  const clock = new FrozenClock();
  const keys = IssuerKeyRing.generate(clock.ms);
  const directory = new MemoryPrincipalDirectory();
  const revocations = new MemoryRevocationStore();
  const replay = new MemoryReplayCache({ clock: clock.now });
  const policy = opts.policy ?? POLICY;
  let lookups = 0;
  const base = keyRingIssuer(opts.issuer?.issuer ?? ISS, keys, policy.maxLifetimeSec, clock.now);
  const inner = base.jwks;
  const counted: JWTVerifyGetKey = (header, token) => {
    lookups++;
    return inner(header, token);
  };
  const trusted: TrustedIssuer = { ...base, jwks: counted };
  const verifier = new CredentialVerifier({
    issuers: [trusted],
    audience: AUD,
    clock: clock.now,
    revocations,
    maxChainDepth: policy.maxChainDepth,
    ...opts.verifierOptions,
  });

  directory.put({ id: ALICE, kind: 'human', shared: false, disabled: false });
  directory.put({ id: BOB, kind: 'human', shared: false, disabled: false });
  const clients: Record<string, Client> = {};
  for (const [id, kind] of [
    [PLANNER, 'agent_instance'],
    [RESEARCHER, 'agent_instance'],
    [TOOL, 'service'],
    [CI, 'service_account'],
  ] as const) {
    const client = clientKeys(id);
    clients[id] = client;
    registerWorkload(directory, client, {
      kind,
      ...(kind === 'service_account' ? { shared: true } : {}),
    });
  }

  const issuer = new Issuer({
    issuer: ISS,
    audience: AUD,
    keys,
    directory,
    verifier,
    replay,
    revocations,
    policy,
    clock: clock.now,
    tokenEndpoint: TOKEN_ENDPOINT,
    devLogin: true,
    ...(opts.idTokenIssuers === undefined ? {} : { trustedIdTokenIssuers: opts.idTokenIssuers }),
    ...opts.issuer,
  });

  const w: World = {
    clock,
    keys,
    directory,
    revocations,
    replay,
    verifier,
    issuer,
    trusted,
    clients,
    keyLookups: () => lookups,
    alice: (scope = ['repo:read', 'repo:write']) => issuer.devLogin('alice', scope),
    delegate: async (subject, actor, scope) => {
      const client = w.clients[actor];
      if (client === undefined) throw new Error(`no client ${actor}`);
      return issuer.exchange({
        subjectToken: subject.token,
        subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
        actorToken: await assertion(client, clock),
        actorTokenType: 'urn:ietf:params:oauth:token-type:jwt',
        ...(scope === undefined ? {} : { scope }),
      });
    },
  };
  return w;
}

/** Adds an agent instance with its own keys to the world. */
export function addAgent(w: World, name: string, p: Partial<Principal> = {}): string {
  const id = `spiffe://acme.test/agent/${name}/instance/1`;
  const client = clientKeys(id);
  w.clients[id] = client;
  registerWorkload(w.directory, client, { kind: 'agent_instance', ...p });
  return id;
}

/** Resolves to the error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<
  Error & {
    code?: string;
    details?: Record<string, unknown>;
    status?: number;
    reason?: string;
    claim?: string;
  }
> {
  try {
    await promise;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** A stand-in OIDC provider: an ES256 key trusted for ID tokens of audience `provenant-client`. */
export function oidcProvider(iss = 'https://accounts.example.com'): {
  trusted: TrustedIssuer;
  sign(claims: Record<string, unknown>): Promise<string>;
} {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'idp-1', alg: 'ES256' };
  const trusted: TrustedIssuer = {
    iss,
    jwks: createLocalJWKSet({ keys: [jwk] }),
    algorithms: ['ES256'],
    audience: 'provenant-client',
  };
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'idp-1' }).sign(privateKey);
  return { trusted, sign };
}
