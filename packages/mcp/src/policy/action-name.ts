/**
 * The action names the proxy gives MCP calls its config does not map: `<server>.<tool>`,
 * `<server>.read_resource`, `<server>.get_prompt`. The decision point takes only action names
 * of 1-128 letters, digits and `_ . : -` (core's `ACTION_NAME_PATTERN`), while MCP servers call
 * themselves anything (`mcp-servers/everything`, `@acme/github`, `My Server`) and tool names
 * may hold other characters too. So each part is made safe here, as a pure function: every run
 * of other characters becomes one `_`, leading and trailing `_` and `.` are dropped, and a name
 * longer than 128 characters is cut and ends with 8 hex digits of the SHA-256 of the parts, so
 * two long names stay apart. The record keeps the names as the server gave them
 * (`action.tool.server`, `action.tool.name`, and the default resource `mcp:<server>/<tool>`).
 */
import { createHash } from 'node:crypto';
import { ACTION_NAME_MAX, ACTION_NAME_PATTERN } from '@provenant/core/vocabulary';

const OTHER = /[^A-Za-z0-9_.:-]+/g;
const EDGES = /^[_.]+|[_.]+$/g;

/** One part of an action name: `mcp-servers/everything` → `mcp-servers_everything`. */
export function actionNamePart(name: string, fallback: string): string {
  const safe = name.replace(OTHER, '_').replace(EDGES, '');
  return safe === '' ? fallback : safe;
}

/** The server's name as it appears in action names (`{server}` in an action template). */
export function actionServerName(server: string): string {
  return actionNamePart(server, 'mcp');
}

/**
 * `<server>.<name>` as a valid action name, whatever the server and the tool (or prompt) are
 * called: `("mcp-servers/everything", "echo")` → `mcp-servers_everything.echo`.
 */
export function defaultActionName(server: string, name: string): string {
  const joined = `${actionServerName(server)}.${actionNamePart(name, 'unnamed')}`;
  if (joined.length <= ACTION_NAME_MAX) return joined;
  const tag = createHash('sha256').update(`${server}\u0000${name}`).digest('hex').slice(0, 8);
  return `${joined.slice(0, ACTION_NAME_MAX - tag.length - 1).replace(EDGES, '')}-${tag}`;
}

/** Why a mapped action name cannot be decided, or undefined when it can. */
export function actionNameProblem(action: string): string | undefined {
  return ACTION_NAME_PATTERN.test(action)
    ? undefined
    : `"${action.length > 140 ? `${action.slice(0, 140)}…` : action}" is not an action name ` +
        `(1-${ACTION_NAME_MAX} letters, digits and _ . : -)`;
}
