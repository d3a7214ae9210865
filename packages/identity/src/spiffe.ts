/**
 * SPIFFE workload identity: JWT-SVIDs (SPIFFE JWT-SVID standard, spiffe/spiffe `standards/
 * JWT-SVID.md` at 665a28f, 2026-07-01) verified against the trust bundle of their trust domain,
 * and the SPIFFE ids they carry checked against the SPIFFE-ID standard (§2).
 *
 * A JWT-SVID authenticates a workload to the issuer as an RFC 7523 client assertion or as the
 * RFC 8693 actor token. The workload is a registered principal whose id is the SPIFFE id, or,
 * where the trust domain is configured with path patterns, any SVID whose path matches one
 * (`SpiffeDirectory` then presents it as a workload principal of the registry's defaults).
 */
import { impliedKind, sha256Hex } from '@provenant/core';
import { jwtVerify } from 'jose';
import { systemClock, type Clock } from './clock.js';
import { CredentialError, type CredentialErrorCode } from './errors.js';
import type { JwksSource } from './jwks-source.js';
import { decodeCompact } from './lib/compact.js';
import { fromJoseError, keyLookup } from './lib/jose-errors.js';
import { spiffeIdProblem, type Principal, type PrincipalDirectory } from './principals.js';
import type { ReplayCache } from './revocation.js';

/** The `alg` values JWT-SVID §2.1 allows (RFC 7518 §3.3–3.5); any other is refused. */
export const JWT_SVID_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
] as const;
/** JOSE header parameters JWT-SVID §2 permits: any other MUST NOT be present. */
const SVID_HEADERS = new Set(['alg', 'kid', 'typ']);
const MAX_SVID_BYTES = 8192;

export interface SpiffeTrustDomain {
  /** The trust domain name, lowercase (`example.org`). */
  trustDomain: string;
  /** Its bundle's JWT-SVID keys: `jwksSource(location, { use: 'jwt-svid' })`. */
  bundle: JwksSource;
  /**
   * Paths of SVIDs accepted without a registered principal: `/agent/*` style patterns where `*`
   * is one path segment and a final `**` any number (at least one). Empty: only SPIFFE ids
   * registered as principals authenticate.
   */
  pathPatterns?: readonly string[];
}

export interface VerifiedSvid {
  spiffeId: string;
  trustDomain: string;
  /** The SPIFFE id's path, with its leading `/`. */
  path: string;
  /** The bundle key that verified it: the evidence a record names. */
  kid: string;
  alg: string;
  aud: string[];
  exp: number;
  iat?: number;
  jti?: string;
  /** SHA-256 of the token, hex. Never log the token. */
  tokenDigest: string;
}

export interface SvidVerifierOptions {
  trustDomains: readonly SpiffeTrustDomain[];
  /** Spends SVID `jti`s: an SVID carrying one is accepted once (as client authentication). */
  replay: ReplayCache;
  clock?: Clock;
  /** Tolerated clock difference, seconds (default 30). */
  skewSec?: number;
  /** Longest accepted `exp - now`, seconds (default 3600): a long-lived SVID is refused. */
  maxLifetimeSec?: number;
}

/** A SPIFFE id's parts, or a `CredentialError` `invalid_spiffe_id` naming the broken rule. */
export function parseSpiffeId(id: unknown): { trustDomain: string; path: string } {
  const problem =
    typeof id === 'string' && id.startsWith('spiffe://')
      ? spiffeIdProblem(id)
      : 'must start with "spiffe://"';
  if (problem !== undefined) {
    fail('invalid_spiffe_id', `The SVID's "sub" is not a SPIFFE id: it ${problem}.`, 'sub');
  }
  const rest = (id as string).slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  return { trustDomain: rest.slice(0, slash), path: rest.slice(slash) };
}

/** Checks a `--spiffe-path` pattern; throws a `TypeError` naming what is wrong. */
export function checkPathPattern(pattern: string): string {
  const segments = pattern.split('/');
  if (segments[0] !== '' || segments.length < 2) {
    throw new TypeError(`The SPIFFE path pattern ${JSON.stringify(pattern)} must start with "/".`);
  }
  segments.slice(1).forEach((s, i, all) => {
    const ok =
      s === '*' ||
      (s === '**' && i === all.length - 1) ||
      (/^[A-Za-z0-9._-]+$/.test(s) && s !== '.' && s !== '..');
    if (!ok) {
      throw new TypeError(
        `The SPIFFE path pattern ${JSON.stringify(pattern)} has a bad segment ${JSON.stringify(s)}: ` +
          'letters, digits, ".", "-", "_", "*" (one segment) or a final "**".',
      );
    }
  });
  return pattern;
}

/** Whether a SPIFFE id path matches a pattern (`*` one segment, a final `**` one or more). */
export function matchesPathPattern(path: string, pattern: string): boolean {
  const p = pattern.split('/').slice(1);
  const s = path.split('/').slice(1);
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '**') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return s.length === p.length;
}

/** Verifies JWT-SVIDs against the trust bundles of the configured trust domains. */
export class SvidVerifier {
  private readonly domains = new Map<string, SpiffeTrustDomain>();
  private readonly replay: ReplayCache;
  private readonly clock: Clock;
  private readonly skewSec: number;
  private readonly maxLifetimeSec: number;

  constructor(o: SvidVerifierOptions) {
    for (const td of o.trustDomains) {
      if (spiffeIdProblem(`spiffe://${td.trustDomain}/x`) !== undefined) {
        throw new TypeError(`${JSON.stringify(td.trustDomain)} is not a SPIFFE trust domain name.`);
      }
      if (this.domains.has(td.trustDomain)) {
        throw new TypeError(`The trust domain ${td.trustDomain} is configured twice.`);
      }
      (td.pathPatterns ?? []).forEach(checkPathPattern);
      this.domains.set(td.trustDomain, td);
    }
    this.replay = o.replay;
    this.clock = o.clock ?? systemClock;
    this.skewSec = o.skewSec ?? 30;
    this.maxLifetimeSec = o.maxLifetimeSec ?? 3600;
  }

  get configured(): boolean {
    return this.domains.size > 0;
  }

  /**
   * Whether `token` is presented as a JWT-SVID: its `sub` is a SPIFFE id of a configured trust
   * domain and its `iss` is not that id (a `private_key_jwt` assertion of a workload registered
   * with its own keys always has `iss` = `sub`; a JWT-SVID's `iss`, if any, is its issuer's).
   * Unverified: it only chooses how to verify.
   */
  claims(token: string): boolean {
    if (this.domains.size === 0) return false;
    const decoded = decodeCompact(token, MAX_SVID_BYTES);
    if ('failure' in decoded) return false;
    const sub = decoded.payload['sub'];
    if (typeof sub !== 'string' || !sub.startsWith('spiffe://')) return false;
    if (decoded.payload['iss'] === sub) return false;
    return this.domains.has(sub.slice('spiffe://'.length).split('/', 1)[0]!);
  }

  /** Whether an SVID of this id is accepted without a registered principal (a path pattern). */
  allowsUnregistered(spiffeId: string): boolean {
    if (!spiffeId.startsWith('spiffe://') || spiffeIdProblem(spiffeId) !== undefined) return false;
    const { trustDomain, path } = parseSpiffeId(spiffeId);
    const patterns = this.domains.get(trustDomain)?.pathPatterns ?? [];
    return patterns.some((p) => matchesPathPattern(path, p));
  }

  /**
   * Verifies a JWT-SVID or throws a `CredentialError`: size and compact shape, only the `alg`,
   * `kid` and `typ` headers (`typ` absent, `JWT` or `JOSE`), an allowed `alg`, a `kid`, `sub` a
   * SPIFFE id of a configured trust domain, the signature with that domain's bundle key, `aud`
   * naming one of `audience`, `exp` present and not past, at most `maxLifetimeSec` ahead; then,
   * with `singleUse`, a `jti` it carries is spent (`token_replayed` the second time).
   */
  async verify(
    token: string,
    options: { audience: readonly string[]; singleUse?: boolean },
  ): Promise<VerifiedSvid> {
    const decoded = decodeCompact(token, MAX_SVID_BYTES);
    if ('failure' in decoded) {
      fail(
        decoded.failure === 'too_large' ? 'token_too_large' : 'malformed_token',
        decoded.message,
      );
    }
    const { header, payload } = decoded;
    for (const name of Object.keys(header)) {
      if (!SVID_HEADERS.has(name)) {
        fail(
          'malformed_token',
          `A JWT-SVID may not carry the "${name.slice(0, 32)}" header.`,
          name,
        );
      }
    }
    const typ = header['typ'];
    if (typ !== undefined && typ !== 'JWT' && typ !== 'JOSE') {
      fail('wrong_typ', 'A JWT-SVID\'s "typ" must be JWT or JOSE when present.', 'typ');
    }
    const alg = header['alg'];
    if (typeof alg !== 'string' || !(JWT_SVID_ALGS as readonly string[]).includes(alg)) {
      fail('unsupported_alg', `A JWT-SVID must be signed with ${JWT_SVID_ALGS.join(', ')}.`, 'alg');
    }
    const kid = header['kid'];
    if (typeof kid !== 'string' || kid === '') {
      fail('unknown_kid', 'The SVID names no bundle key (kid).', 'kid');
    }
    const { trustDomain, path } = parseSpiffeId(payload['sub']);
    const domain = this.domains.get(trustDomain);
    if (domain === undefined) {
      fail('unknown_trust_domain', `No trust bundle is configured for ${trustDomain}.`, 'sub');
    }
    const now = Math.floor(this.clock() / 1000);
    let verified: Record<string, unknown>;
    try {
      ({ payload: verified } = await jwtVerify(token, keyLookup(domain.bundle.getKey), {
        algorithms: [...JWT_SVID_ALGS],
        audience: [...options.audience],
        clockTolerance: this.skewSec,
        currentDate: new Date(now * 1000),
        requiredClaims: ['sub', 'aud', 'exp'],
      }));
    } catch (e) {
      throw fromJoseError(e);
    }
    const exp = verified['exp'] as number;
    if (!Number.isSafeInteger(exp)) fail('malformed_token', '"exp" must be whole seconds.', 'exp');
    if (exp > now + this.maxLifetimeSec + this.skewSec) {
      fail(
        'lifetime_too_long',
        `A JWT-SVID presented here may live at most ${this.maxLifetimeSec} seconds.`,
        'exp',
      );
    }
    const aud = verified['aud'];
    const jti = verified['jti'];
    if (jti !== undefined && (typeof jti !== 'string' || jti === '' || jti.length > 256)) {
      fail('malformed_token', '"jti" must be a string of 1–256 characters.', 'jti');
    }
    const iat = verified['iat'];
    const svid: VerifiedSvid = {
      spiffeId: payload['sub'] as string,
      trustDomain,
      path,
      kid,
      alg,
      aud: typeof aud === 'string' ? [aud] : [...(aud as string[])],
      exp,
      ...(Number.isSafeInteger(iat) ? { iat: iat as number } : {}),
      ...(jti === undefined ? {} : { jti }),
      tokenDigest: sha256Hex(Buffer.from(token, 'utf8')),
    };
    if (options.singleUse === true && jti !== undefined) {
      const fresh = await this.replay.useOnce(`svid ${svid.spiffeId} ${jti}`, exp + this.skewSec);
      if (!fresh) fail('token_replayed', 'This JWT-SVID was already used.', 'jti');
    }
    return svid;
  }
}

/**
 * The registry as the identity rules see it, with the SVIDs a path pattern admits: a SPIFFE id
 * that is not registered but matches a configured pattern is an enabled workload principal
 * (`agent_instance` for `/agent/<a>/instance/<i>`, else `service`) with its kind's defaults. A
 * registered principal always wins: registering one and disabling it stops a pattern's SVID.
 */
export class SpiffeDirectory implements PrincipalDirectory {
  /**
   * The path patterns' verdicts by id (ingest asks for every record's actor), at most
   * `maxVerdicts`, then all forgotten at once. Only the patterns' answer is kept, which depends
   * on nothing that changes: the registry is asked first on every call, so registering,
   * disabling or removing a principal takes effect at once.
   */
  private readonly verdicts = new Map<string, Principal | null>();

  constructor(
    private readonly registry: PrincipalDirectory,
    private readonly svids: SvidVerifier,
    private readonly maxVerdicts = 10_000,
  ) {}

  get(id: string): Principal | undefined {
    const registered = this.registry.get(id);
    if (registered !== undefined) return registered;
    let verdict = this.verdicts.get(id);
    if (verdict === undefined) {
      verdict = this.svids.allowsUnregistered(id) ? patternPrincipal(id) : null;
      if (this.verdicts.size >= this.maxVerdicts) this.verdicts.clear();
      this.verdicts.set(id, verdict);
    }
    return verdict ?? undefined;
  }
}

/** The principal a path pattern admits: a workload with its kind's defaults, frozen (shared). */
function patternPrincipal(id: string): Principal {
  const implied = impliedKind(id);
  const kind = implied === 'agent_instance' || implied === 'agent' ? 'agent_instance' : 'service';
  return Object.freeze({ id, kind, shared: false, disabled: false });
}

function fail(code: CredentialErrorCode, message: string, claim?: string): never {
  throw new CredentialError(code, message, claim === undefined ? undefined : { claim });
}
