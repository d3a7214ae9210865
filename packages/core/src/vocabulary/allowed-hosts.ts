/**
 * Which `Host` and `Origin` headers a Provenant server answers: the one rule the collector and
 * the MCP proxy's HTTP mode apply before anything else. A page on `evil.example` whose name
 * was rebound to 127.0.0.1 reaches a loopback server with `Host: evil.example`; a page of
 * another site calling it sends its own `Origin`. Both are refused; a client that is not a
 * browser (the CLI, the SDK) sends no `Origin` and the name it was given as `Host`.
 */
import { ProvenantError } from '../errors.js';

/** A name the server answers to; its origins on `port` only (any port without one). */
export interface AllowedHost {
  /** Lowercase; an IPv6 address in brackets (`[::1]`). */
  readonly name: string;
  readonly port?: number;
}

export interface HostRule {
  readonly hosts: readonly AllowedHost[];
  /** Origins allowed besides the allowed hosts' own (`https://console.example`). */
  readonly origins: ReadonlySet<string>;
  /** The scheme the server speaks: an allowed host's origin in it (or https) is its own. */
  readonly scheme: 'http' | 'https';
}

export type HostRefusal = 'host_not_allowed' | 'origin_not_allowed';

const NAME = /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$/;
const IPV6 = /^\[[0-9a-f:.]+\]$/;
const DEFAULT_PORT = { http: 80, https: 443 } as const;

/** `name`, `name:port`, `[v6]` or `[v6]:port` as a host, or undefined when it is none. */
function splitHost(text: string): AllowedHost | undefined {
  const lower = text.toLowerCase();
  let name: string;
  let rest: string;
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    if (end < 0) return undefined;
    name = lower.slice(0, end + 1);
    rest = lower.slice(end + 1);
    if (!IPV6.test(name)) return undefined;
  } else {
    const colon = lower.indexOf(':');
    name = colon < 0 ? lower : lower.slice(0, colon);
    rest = colon < 0 ? '' : lower.slice(colon);
    if (!NAME.test(name)) return undefined;
  }
  if (rest === '') return { name };
  if (!/^:[0-9]{1,5}$/.test(rest)) return undefined;
  const port = Number(rest.slice(1));
  return port >= 1 && port <= 65535 ? { name, port } : undefined;
}

/** An `--allowed-hosts` entry: `name` (any port) or `name:port`. */
export function parseAllowedHost(spec: string): AllowedHost {
  const host = splitHost(spec.trim());
  if (!host) {
    throw new ProvenantError(
      'config_invalid',
      `Not a host name, name:port or [IPv6]:port: "${spec.slice(0, 100)}".`,
    );
  }
  return host;
}

/** An `--allowed-origins` entry (`scheme://host[:port]`), normalized as browsers send it. */
export function parseAllowedOrigin(spec: string): string {
  const origin = splitOrigin(spec.trim());
  if (!origin) {
    throw new ProvenantError(
      'config_invalid',
      `Not an origin (http(s)://host[:port], no path): "${spec.slice(0, 100)}".`,
    );
  }
  return originText(origin);
}

function splitOrigin(text: string): { scheme: 'http' | 'https'; host: AllowedHost } | undefined {
  const m = /^(https?):\/\/(.+)$/i.exec(text);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase() as 'http' | 'https';
  const host = splitHost(m[2]!);
  if (!host) return undefined;
  return { scheme, host: host.port === DEFAULT_PORT[scheme] ? { name: host.name } : host };
}

function originText(o: { scheme: string; host: AllowedHost }): string {
  return `${o.scheme}://${o.host.name}${o.host.port === undefined ? '' : `:${o.host.port}`}`;
}

/** The host of a URL the server is reached at (an issuer or public URL), with its port. */
export function hostOfUrl(url: string): AllowedHost {
  const u = new URL(url);
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  return parseAllowedHost(`${u.hostname}:${u.port === '' ? DEFAULT_PORT[scheme] : u.port}`);
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARDS = new Set(['0.0.0.0', '[::]', '::']);

/**
 * The names a server bound to `bindHost:port` answers to by default: the loopback names, the
 * bound address unless it is a wildcard, and the hosts of the URLs it is published at.
 */
export function listenerHosts(
  bindHost: string,
  port: number,
  publicUrls: readonly string[] = [],
): AllowedHost[] {
  const bound = bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost}]` : bindHost;
  const names = new Set(LOOPBACK_NAMES);
  if (!WILDCARDS.has(bound.toLowerCase())) names.add(bound.toLowerCase());
  return [
    ...[...names].map((name) => parseAllowedHost(`${name}:${port}`)),
    ...publicUrls.map(hostOfUrl),
  ];
}

/** The loopback names on any port: the rule of an app that does not know where it listens. */
export function loopbackRule(): HostRule {
  return { hosts: LOOPBACK_NAMES.map((name) => ({ name })), origins: new Set(), scheme: 'http' };
}

/** An origin's host and port (explicit or its scheme's) is an allowed host's own. */
function ownOrigin(hosts: readonly AllowedHost[], name: string, port: number): boolean {
  return hosts.some((a) => a.name === name && (a.port === undefined || a.port === port));
}

/**
 * Why a request with these headers is refused, or undefined when it is answered. `Host` must
 * name an allowed host (any port). `Origin`, when present, must
 * be an allowed origin or an allowed host's own (in the server's scheme, or https behind a TLS
 * proxy); `Origin: null` (sandboxed pages, files) is never allowed.
 */
export function hostRefusal(
  rule: HostRule,
  host: string | undefined,
  origin: string | undefined,
): HostRefusal | undefined {
  const parsedHost = host === undefined ? undefined : splitHost(host);
  // The name alone: a rebound page names its own host, whatever port; an in-process request
  // (fastify's inject) says port 80.
  if (!parsedHost || !rule.hosts.some((a) => a.name === parsedHost.name)) {
    return 'host_not_allowed';
  }
  if (origin === undefined) return undefined;
  const o = splitOrigin(origin);
  if (!o) return 'origin_not_allowed';
  if (rule.origins.has(originText(o))) return undefined;
  const own = o.scheme === rule.scheme || o.scheme === 'https';
  const port = o.host.port ?? DEFAULT_PORT[o.scheme];
  return own && ownOrigin(rule.hosts, o.host.name, port) ? undefined : 'origin_not_allowed';
}
