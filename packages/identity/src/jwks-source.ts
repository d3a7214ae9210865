/**
 * One source of trusted keys for every verifier that takes another party's JWTs (an OIDC
 * provider's ID tokens, a SPIFFE trust bundle's JWT-SVID keys, a Txn-Token Service, an ID-JAG
 * issuer): a JWK Set given as a FILE or an http(s) URL, refreshed, so that a key that leaves the
 * set stops verifying at the next refresh.
 *
 * - URL: jose's remote set, fetched again once `refreshMs` has passed (its `cacheMaxAge`) or when
 *   a token names a key it does not hold (at most once per `cooldownMs`).
 * - FILE: read at once (a missing or invalid file is a configuration mistake, thrown here), then
 *   checked for a change every `refreshMs` (re-read when its size, times or inode moved), and on
 *   a token naming an unknown key (at most once per `cooldownMs`). A re-read that fails (a file
 *   half-written) keeps the last good set and reports the failure in `status()`.
 *
 * With `use`, only the keys published for that use are kept (a SPIFFE bundle marks JWT-SVID keys
 * `"use": "jwt-svid"` and X.509-SVID roots `"x509-svid"`): they are handed to jose as signature
 * keys, the others are dropped.
 */
import { readFileSync, statSync } from 'node:fs';
import { ProvenantError } from '@provenant/core';
import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors } from 'jose';
import type { FetchImplementation, JSONWebKeySet, JWK, JWTVerifyGetKey } from 'jose';
import { systemClock, type Clock } from './clock.js';

export interface JwksSourceOptions {
  /** Keep only keys whose `use` is this (e.g. `jwt-svid`); default: every key as published. */
  use?: string;
  /**
   * FILE: how often it is checked for a change; URL: how long a fetched set is used before it is
   * fetched again. Milliseconds, default 300,000 (5 minutes).
   */
  refreshMs?: number;
  /** Least time between two re-reads prompted by an unknown key id, ms (default 30,000). */
  cooldownMs?: number;
  /** URL: how long one fetch may take, ms (default 5,000). */
  timeoutMs?: number;
  /** FILE: the clock of `refreshMs` and `cooldownMs` (URL sets use jose's own). */
  clock?: Clock;
}

export interface JwksSourceStatus {
  /** Keys held now (after the `use` filter); undefined for a URL not fetched yet. */
  keys: number | undefined;
  /** When the set held now was read, Unix ms; undefined for a URL not fetched yet. */
  readAt: number | undefined;
  /** Why the last re-read failed, when it did (the previous set is still in use). */
  error?: string;
}

export interface JwksSource {
  /** The FILE path or URL, as configured: what logs and errors name it by. */
  readonly location: string;
  /** The key resolver for jose's `jwtVerify` (and a `TrustedIssuer`'s `jwks`). */
  readonly getKey: JWTVerifyGetKey;
  /** Reads the set again now (a FILE whatever its times; a URL at once, cooldown or not). */
  refresh(): Promise<void>;
  /** The keys held now, as public JWKs (after the `use` filter). */
  keys(): JWK[];
  /**
   * Whether a key of this id is held now: a verifier that caches its verdicts asks on each hit,
   * so a key rotated out stops a cached token too.
   */
  has(kid: string): boolean;
  status(): JwksSourceStatus;
}

const DEFAULT_REFRESH_MS = 300_000;
const DEFAULT_COOLDOWN_MS = 30_000;
const MAX_JWKS_BYTES = 1 << 20;

/** Whether `location` is read over HTTP(S) rather than from a file. */
export function isJwksUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/**
 * A refreshed key set from `location` (FILE or http(s) URL). Throws `ProvenantError`
 * `config_invalid` for a FILE that cannot be read as a JWK Set (with `use`: one holding no key of
 * that use), or a URL that does not parse; a URL is fetched on first use.
 */
export function jwksSource(location: string, options: JwksSourceOptions = {}): JwksSource {
  const refreshMs = duration(options.refreshMs ?? DEFAULT_REFRESH_MS, 'refreshMs');
  const cooldownMs = duration(options.cooldownMs ?? DEFAULT_COOLDOWN_MS, 'cooldownMs');
  if (typeof location !== 'string' || location === '') {
    throw new TypeError('A JWKS source needs a file path or URL.');
  }
  if (isJwksUrl(location)) return remoteSource(location, refreshMs, cooldownMs, options);
  return fileSource(location, refreshMs, cooldownMs, options);
}

/** The set as jose should see it: with `use`, only that use's keys, marked signature keys. */
export function selectKeys(set: unknown, use: string | undefined, where: string): JSONWebKeySet {
  const keys = (set as { keys?: unknown } | null)?.keys;
  if (typeof set !== 'object' || set === null || !Array.isArray(keys)) {
    throw new ProvenantError('config_invalid', `${where} is not a JWK Set ({"keys": [...]}).`);
  }
  const kept: JWK[] = [];
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) {
      throw new ProvenantError('config_invalid', `${where} holds a key that is not an object.`);
    }
    const jwk = key as JWK;
    if ('d' in jwk || 'k' in jwk) {
      throw new ProvenantError('config_invalid', `${where} holds a private or secret key.`);
    }
    if (use === undefined) kept.push(jwk);
    else if (jwk.use === use) kept.push({ ...jwk, use: 'sig' });
  }
  return { keys: kept };
}

function fileSource(
  file: string,
  refreshMs: number,
  cooldownMs: number,
  options: JwksSourceOptions,
): JwksSource {
  const clock = options.clock ?? systemClock;
  const read = (): { set: JSONWebKeySet; stamp: string } => {
    let text: string;
    let stamp: string;
    try {
      stamp = fileStamp(file);
      text = readFileSync(file, 'utf8');
    } catch {
      throw new ProvenantError('config_invalid', `Cannot read the JWKS file ${file}.`);
    }
    if (text.length > MAX_JWKS_BYTES) {
      throw new ProvenantError('config_invalid', `The JWKS file ${file} is larger than 1 MiB.`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ProvenantError('config_invalid', `The JWKS file ${file} is not JSON.`);
    }
    const set = selectKeys(json, options.use, `The JWKS file ${file}`);
    if (options.use !== undefined && set.keys.length === 0) {
      throw new ProvenantError(
        'config_invalid',
        `The JWKS file ${file} holds no key for "${options.use}".`,
      );
    }
    return { set, stamp };
  };

  let current = read();
  let local = createLocalJWKSet(current.set);
  let readAt = clock();
  let checkedAt = readAt;
  let forcedAt = Number.NEGATIVE_INFINITY;
  let error: string | undefined;

  const reload = (force: boolean): void => {
    const now = clock();
    checkedAt = now;
    try {
      if (!force && fileStamp(file) === current.stamp) return;
      const next = read();
      local = createLocalJWKSet(next.set);
      current = next;
      readAt = now;
      error = undefined;
    } catch (e) {
      // Keep the last good set: a file being rewritten must not stop every verification.
      error = e instanceof Error ? e.message : String(e);
    }
  };

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (clock() - checkedAt >= refreshMs) reload(false);
    try {
      return await local(header, token);
    } catch (e) {
      if (!(e instanceof errors.JWKSNoMatchingKey) || clock() - forcedAt < cooldownMs) throw e;
      forcedAt = clock();
      reload(false);
      return local(header, token);
    }
  };

  return {
    location: file,
    getKey,
    refresh: () => {
      reload(true);
      return Promise.resolve();
    },
    keys: () => current.set.keys.map((k) => ({ ...k })),
    has: (kid) => {
      if (clock() - checkedAt >= refreshMs) reload(false);
      return current.set.keys.some((k) => k.kid === kid);
    },
    status: () => ({
      keys: current.set.keys.length,
      readAt,
      ...(error === undefined ? {} : { error }),
    }),
  };
}

function remoteSource(
  url: string,
  refreshMs: number,
  cooldownMs: number,
  options: JwksSourceOptions,
): JwksSource {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProvenantError('config_invalid', `${JSON.stringify(url)} is not a URL.`);
  }
  let readAt: number | undefined;
  let error: string | undefined;
  // Every fetch goes through here: the `use` filter, and the status.
  const filteringFetch: FetchImplementation = async (input, init) => {
    try {
      const response = await fetch(input, init);
      if (response.status !== 200) {
        error = `${url} answered ${response.status}.`;
        return response;
      }
      const set = selectKeys(await response.json(), options.use, `The JWK Set at ${url}`);
      readAt = Date.now();
      error = undefined;
      return Response.json(set);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      throw e;
    }
  };
  const remote = createRemoteJWKSet(parsed, {
    timeoutDuration: duration(options.timeoutMs ?? 5_000, 'timeoutMs'),
    cooldownDuration: cooldownMs,
    cacheMaxAge: refreshMs,
    [customFetch]: filteringFetch,
  });
  return {
    location: url,
    getKey: remote,
    refresh: () => remote.reload(),
    keys: () => (remote.jwks()?.keys ?? []).map((k) => ({ ...k })),
    // Past its refresh time the set is fetched again by the next `getKey`; until then it holds.
    has: (kid) => remote.jwks()?.keys.some((k) => k.kid === kid) === true,
    status: () => ({
      keys: remote.jwks()?.keys.length,
      readAt,
      ...(error === undefined ? {} : { error }),
    }),
  };
}

/** What changes when a file is rewritten in place or replaced by a rename. */
function fileStamp(file: string): string {
  const s = statSync(file, { bigint: true });
  return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

function duration(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer of milliseconds.`);
  }
  return value;
}
