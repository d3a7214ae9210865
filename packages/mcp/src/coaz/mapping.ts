/**
 * The default mappings of COAZ-MCP (the COAZ binding for MCP, OpenID AuthZEN, Draft 1 of
 * 2026-02-13, "Default Mappings"): for each MCP client request method, the AuthZEN Access
 * Evaluation request a PEP sends. The binding writes them as CEL over `params` and `token`; the
 * expressions its default mappings use are few and fixed, so they are evaluated here directly:
 * `$token.sub`, `$token.?client_id`, `$token.aud` (resolved to one server identifier),
 * `$params.name`, `$params.uri`, `$params.protocolVersion`, `$params.level`, `$params.taskId`,
 * and `completion/complete`'s conditional on `$params.ref.type`.
 *
 * Declared mappings (`x-authzen-mapping` in a tool's `inputSchema`, arbitrary CEL) are not
 * evaluated: a call to a tool that declares one is a mapping error (fail closed), never
 * authorized by the default mapping instead.
 */
import type { AuthzenEvaluation } from '@provenant/core/authzen';

/** The decoded claims of the validated access token (the binding's `token`). */
export type TokenClaims = Readonly<Record<string, unknown>>;

export type Mapped =
  | { readonly kind: 'evaluate'; readonly request: AuthzenEvaluation }
  /** `ping` and notifications: allowed without asking the PDP. */
  | { readonly kind: 'pass' }
  /** No mapping (an unknown method): denied without asking the PDP. */
  | { readonly kind: 'unmapped' }
  /** The request cannot be mapped (a field missing): JSON-RPC -32602. */
  | { readonly kind: 'error'; readonly message: string };

export interface MappingOptions {
  /**
   * This server's resource identifier (RFC 8707), which `$token.aud` resolves to: used directly
   * when given (the binding allows it); else `aud` must be one string, or a list holding it.
   */
  readonly serverId?: string;
  /** The subject-identity claim (default `sub`; an on-behalf-of claim where agreed). */
  readonly subjectClaim?: string;
  /** Tools whose `tools/list` entry declares an `x-authzen-mapping`. */
  readonly declared?: ReadonlySet<string>;
}

const PASS = new Set(['ping']);
/** Methods whose resource is the MCP server itself (`$token.aud`). */
const SERVER_SCOPED = new Set([
  'initialize',
  'tools/list',
  'resources/list',
  'prompts/list',
  'logging/setLevel',
  'tasks/list',
]);

class MappingError extends Error {}
const missing = (what: string): never => {
  throw new MappingError(`COAZ mapping error: ${what}`);
};

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') return missing(`${what} is missing or not a string`);
  return v;
}

/** `$token.aud` as the binding resolves it: exactly one value identifying this server. */
function serverOf(token: TokenClaims, serverId: string | undefined): string {
  if (serverId !== undefined) return serverId;
  const aud = token['aud'];
  if (typeof aud === 'string' && aud !== '') return aud;
  return missing('the token\'s "aud" does not name exactly one server (give the server id)');
}

/** The evaluation for one client request, or why there is none. */
export function mapRequest(
  method: string,
  params: Readonly<Record<string, unknown>> | undefined,
  token: TokenClaims,
  o: MappingOptions = {},
): Mapped {
  if (PASS.has(method) || method.startsWith('notifications/')) return { kind: 'pass' };
  const p = params ?? {};
  try {
    const subject = { type: 'identity', id: text(token[o.subjectClaim ?? 'sub'], 'token.sub') };
    const agent = token['client_id'];
    const context: Record<string, string> = typeof agent === 'string' ? { agent } : {};
    const resource = (type: string, id: unknown, what: string) => ({ type, id: text(id, what) });
    let r: { type: string; id: string };
    if (SERVER_SCOPED.has(method)) {
      r = { type: 'mcp_server', id: serverOf(token, o.serverId) };
      if (method === 'initialize') {
        context['protocol_version'] = text(p['protocolVersion'], 'params.protocolVersion');
      }
      if (method === 'logging/setLevel') context['level'] = text(p['level'], 'params.level');
    } else if (method === 'tools/call') {
      const name = text(p['name'], 'params.name');
      if (o.declared?.has(name)) {
        return missing(
          `tool ${JSON.stringify(name)} declares an x-authzen-mapping (CEL), which this PEP does not evaluate`,
        );
      }
      r = { type: 'tool', id: name };
    } else if (
      ['resources/read', 'resources/subscribe', 'resources/unsubscribe'].includes(method)
    ) {
      r = resource('resource', p['uri'], 'params.uri');
    } else if (method === 'prompts/get') {
      r = resource('prompt', p['name'], 'params.name');
    } else if (method === 'completion/complete') {
      const ref = (p['ref'] ?? {}) as Record<string, unknown>;
      r =
        ref['type'] === 'ref/prompt'
          ? resource('prompt', ref['name'], 'params.ref.name')
          : resource('resource', ref['uri'], 'params.ref.uri');
    } else if (['tasks/get', 'tasks/result', 'tasks/cancel'].includes(method)) {
      r = resource('task', p['taskId'], 'params.taskId');
    } else {
      return { kind: 'unmapped' };
    }
    return {
      kind: 'evaluate',
      request: { subject, action: { name: method }, resource: r, context },
    };
  } catch (e) {
    if (e instanceof MappingError) return { kind: 'error', message: e.message };
    throw e;
  }
}

/** The tools of a `tools/list` result that declare an `x-authzen-mapping`. */
export function declaredMappings(result: unknown): string[] {
  const tools = (result as { tools?: unknown } | null)?.tools;
  if (!Array.isArray(tools)) return [];
  return tools
    .filter(
      (t): t is { name: string; inputSchema: Record<string, unknown> } =>
        typeof t === 'object' &&
        t !== null &&
        typeof (t as { name?: unknown }).name === 'string' &&
        typeof (t as { inputSchema?: unknown }).inputSchema === 'object' &&
        (t as { inputSchema: Record<string, unknown> | null }).inputSchema !== null &&
        'x-authzen-mapping' in (t as { inputSchema: Record<string, unknown> }).inputSchema,
    )
    .map((t) => t.name);
}
