/**
 * OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, rules as of
 * revision -01, unchanged through -03; what MCP 2025-11-25 and 2026-07-28 recommend for clients
 * with no prior relationship): a client whose `client_id` is an https URL publishes its metadata
 * at that URL; the collector fetches it when the client asks to be authorized, and uses its
 * `redirect_uris`.
 *
 * The fetch is a request the collector makes to an address a stranger chose, so it is fenced:
 * https only; every address the name resolves to must be public (no loopback, private,
 * link-local, CGNAT, multicast or reserved range, checked on the address actually connected to,
 * so DNS rebinding cannot slip one in) unless `allowPrivateAddresses` (tests, a lab); no
 * redirect is followed (a 3xx is refused); at most `maxBytes` (5 KiB, the draft's suggestion)
 * and `timeoutMs` (5 s) in all; `application/json` only. A valid document is cached for its
 * `Cache-Control: max-age` (60 s to 24 h; 5 minutes without one; `no-store` not at all), at
 * most 1,000 of them; one fetch at a time per URL, 16 at a time in all.
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { RequestError } from '../errors.js';

/** What the authorization endpoint uses of a client's metadata document. */
export interface ClientMetadata {
  readonly clientId: string;
  readonly redirectUris: readonly string[];
  readonly clientName?: string;
}

export interface ClientMetadataOptions {
  /** Fetch documents from loopback and private addresses too (tests, a lab). Default false. */
  readonly allowPrivateAddresses?: boolean;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly clock?: () => number;
  /** CA certificates trusted besides the system's (tests; operators use NODE_EXTRA_CA_CERTS). */
  readonly ca?: string;
}

const MAX_URL = 2048;
const MAX_REDIRECT_URIS = 32;
const MAX_CACHED = 1000;
/** Fetches under way at once, all URLs together: a stranger cannot make the collector a crawler. */
const MAX_IN_FLIGHT = 16;
const DEFAULT_TTL_SEC = 300;
const MIN_TTL_SEC = 60;
const MAX_TTL_SEC = 86_400;

/** Addresses a metadata fetch never goes to unless allowed (RFC 6890 special-purpose ranges). */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

/** Whether `address` (an IP literal) is a public unicast address. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return !NOT_PUBLIC.check(mapped[1]!, 'ipv4');
  return !NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const unavailable = (clientId: string, why: string) =>
  new RequestError(
    'client_metadata_unavailable',
    `The client's metadata document at ${clientId} cannot be read: ${why}.`,
  );
const invalid = (why: string) =>
  new RequestError('client_metadata_invalid', `The client's metadata document ${why}.`);

/**
 * Whether `value` is a client id naming a metadata document (§3 of the draft): an https URL with
 * a path, without a fragment, credentials or dot segments (compared unnormalized, as written).
 */
export function isMetadataClientId(value: string): boolean {
  if (value.length > MAX_URL || !value.startsWith('https://') || value.includes('#')) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const rest = value.slice('https://'.length);
  const slash = rest.indexOf('/');
  const path = slash === -1 ? '' : rest.slice(slash).split('?', 1)[0]!;
  return (
    path !== '' &&
    path !== '/' &&
    url.username === '' &&
    url.password === '' &&
    !path.split('/').some((segment) => segment === '.' || segment === '..')
  );
}

export class ClientMetadataResolver {
  private readonly allowPrivate: boolean;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly clock: () => number;
  private readonly ca: string | undefined;
  private readonly cache = new Map<string, { doc: ClientMetadata; until: number }>();
  private readonly inFlight = new Map<string, Promise<ClientMetadata>>();

  constructor(o: ClientMetadataOptions = {}) {
    this.allowPrivate = o.allowPrivateAddresses ?? false;
    this.timeoutMs = o.timeoutMs ?? 5_000;
    this.maxBytes = o.maxBytes ?? 5 * 1024;
    this.clock = o.clock ?? Date.now;
    this.ca = o.ca;
  }

  /** The metadata of the client `clientId` (a URL that `isMetadataClientId`), fetched or cached. */
  async resolve(clientId: string): Promise<ClientMetadata> {
    const now = this.clock();
    const hit = this.cache.get(clientId);
    if (hit !== undefined && hit.until > now) return hit.doc;
    if (hit !== undefined) this.cache.delete(clientId);
    let pending = this.inFlight.get(clientId);
    if (pending === undefined) {
      if (this.inFlight.size >= MAX_IN_FLIGHT) {
        throw unavailable(clientId, 'too many metadata documents are being fetched; retry');
      }
      pending = this.fetchDocument(clientId).finally(() => this.inFlight.delete(clientId));
      this.inFlight.set(clientId, pending);
    }
    return pending;
  }

  private async fetchDocument(clientId: string): Promise<ClientMetadata> {
    const url = new URL(clientId);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) !== 0 && !this.allowPrivate && !isPublicAddress(host)) {
      throw addressRefused(clientId, host);
    }
    const { status, contentType, body, maxAgeSec } = await this.get(url, clientId);
    if (status !== 200) {
      throw unavailable(
        clientId,
        status >= 300 && status < 400
          ? `it answered a redirect (${status}), which is not followed`
          : `it answered ${status}`,
      );
    }
    if (!/^application\/json\s*(;|$)/i.test(contentType)) {
      throw unavailable(clientId, 'it is not application/json');
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw invalid('is not JSON');
    }
    const doc = validateDocument(json, clientId);
    if (maxAgeSec > 0) {
      if (this.cache.size >= MAX_CACHED) {
        const oldest = this.cache.keys().next();
        if (!oldest.done) this.cache.delete(oldest.value);
      }
      this.cache.set(clientId, { doc, until: this.clock() + maxAgeSec * 1000 });
    }
    return doc;
  }

  private get(
    url: URL,
    clientId: string,
  ): Promise<{ status: number; contentType: string; body: string; maxAgeSec: number }> {
    const allowPrivate = this.allowPrivate;
    // Every address the name resolves to is checked, and only those are connected to.
    const lookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { ...(options as LookupOptions), all: true }, (err, found) => {
        if (err) return callback(err, '', 4);
        const addresses = found as unknown as LookupAddress[];
        const refused = addresses.find((a) => !allowPrivate && !isPublicAddress(a.address));
        if (refused !== undefined || addresses.length === 0) {
          return callback(addressRefused(clientId, refused?.address ?? 'none'), '', 4);
        }
        if ((options as LookupOptions).all === true) {
          return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        }
        return callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(e instanceof RequestError ? e : unavailable(clientId, e.message));
      };
      const req = httpsRequest(
        url,
        {
          method: 'GET',
          headers: { accept: 'application/json' },
          lookup,
          // No pooled connection: each fetch resolves (and checks) the name again.
          agent: false,
          ...(this.ca === undefined ? {} : { ca: this.ca }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > this.maxBytes) {
              fail(unavailable(clientId, `it is larger than ${this.maxBytes} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('error', fail);
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
              maxAgeSec: cacheLifetime(res.headers['cache-control']),
            });
          });
        },
      );
      const timer = setTimeout(
        () => fail(unavailable(clientId, `no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      req.on('error', fail);
      req.end();
    });
  }
}

function addressRefused(clientId: string, address: string): RequestError {
  return new RequestError(
    'client_metadata_address_refused',
    `The client's metadata document at ${clientId} is on a non-public address (${address}); the collector does not fetch from there.`,
  );
}

/** Seconds to keep a document for its Cache-Control (0: not at all). */
function cacheLifetime(header: string | string[] | undefined): number {
  const value = [header ?? ''].flat().join(',').toLowerCase();
  if (/(^|[\s,])(no-store|no-cache|private)([\s,=]|$)/.test(value)) return 0;
  const m = /(^|[\s,])max-age=(\d{1,10})/.exec(value);
  if (!m) return DEFAULT_TTL_SEC;
  return Math.min(MAX_TTL_SEC, Math.max(MIN_TTL_SEC, Number(m[2])));
}

/**
 * The draft's checks (§4, §8.1 of -01): a JSON object whose `client_id` is the URL it was
 * fetched from, compared as strings; `redirect_uris` a non-empty list of absolute URLs without
 * fragments; no client secret (a document is public); a public client (`none`, or no method
 * named: no other way to authenticate it is offered here); `authorization_code` and `code`
 * among its grant and response types when it lists them.
 */
export function validateDocument(json: unknown, clientId: string): ClientMetadata {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid('is not a JSON object');
  }
  const doc = json as Record<string, unknown>;
  if (doc['client_id'] !== clientId) {
    throw invalid(
      `names client_id ${JSON.stringify(String(doc['client_id']).slice(0, 200))}, not the URL it was fetched from (${clientId})`,
    );
  }
  if ('client_secret' in doc || 'client_secret_expires_at' in doc) {
    throw invalid('holds a client secret, which a public document must not');
  }
  const method = doc['token_endpoint_auth_method'];
  if (method !== undefined && method !== 'none') {
    throw invalid(
      `asks for token_endpoint_auth_method ${JSON.stringify(String(method).slice(0, 40))}; clients identified by a metadata document are public here ("none", with PKCE)`,
    );
  }
  const uris = doc['redirect_uris'];
  if (
    !Array.isArray(uris) ||
    uris.length === 0 ||
    uris.length > MAX_REDIRECT_URIS ||
    !uris.every((u) => typeof u === 'string' && isRedirectUri(u))
  ) {
    throw invalid(
      `needs redirect_uris: 1 to ${MAX_REDIRECT_URIS} absolute URLs without a fragment`,
    );
  }
  for (const [field, needed] of [
    ['grant_types', 'authorization_code'],
    ['response_types', 'code'],
  ] as const) {
    const listed = doc[field];
    if (listed !== undefined && !(Array.isArray(listed) && listed.includes(needed))) {
      throw invalid(`lists ${field} without ${needed}`);
    }
  }
  const name = doc['client_name'];
  return {
    clientId,
    redirectUris: uris as string[],
    ...(typeof name === 'string' && name !== '' ? { clientName: name.slice(0, 200) } : {}),
  };
}

function isRedirectUri(value: string): boolean {
  if (value.length > MAX_URL || value.includes('#')) return false;
  try {
    const url = new URL(value);
    return url.protocol !== 'javascript:' && url.protocol !== 'data:' && url.username === '';
  } catch {
    return false;
  }
}
