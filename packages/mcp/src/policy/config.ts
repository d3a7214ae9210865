/**
 * The proxy's configuration: how each MCP tool (and resource reads and prompt fetches) maps to
 * a Provenant action, resource, class and risk. Anything the file does not say comes from the
 * tool's annotations as the server lists them, read as the MCP specification defines them.
 */
import { readFileSync } from 'node:fs';
import type { Action } from '@provenant/core';
import {
  ACTION_CLASS_FLAGS,
  NO_ACTION_CLASS,
  type ActionClassFlags,
} from '@provenant/core/vocabulary';
import { InvalidConfigError } from '../errors.js';
import {
  actionNamePart,
  actionNameProblem,
  actionServerName,
  defaultActionName,
} from './action-name.js';

export type Risk = NonNullable<Action['risk']>;
export type ActionClass = ActionClassFlags;
const CLASS_FLAGS: ReadonlySet<string> = new Set(ACTION_CLASS_FLAGS);

/**
 * One mapping entry. `action` and `resource` are templates: `{server}`, `{tool}`, `{arg}`. In
 * `action`, `{server}` and `{tool}` are the names made safe for an action name (action-name.ts).
 */
export interface MappingEntry {
  readonly action?: string;
  readonly resource?: string;
  readonly class?: Partial<ActionClass>;
  readonly risk?: Risk;
}

export interface ProxyConfig {
  /** The server name in records (`action.tool.server`); default: the server's own name. */
  readonly server?: string;
  readonly tools?: Readonly<Record<string, MappingEntry>>;
  /** `resources/read` (template variable `{uri}`). */
  readonly resources?: MappingEntry;
  /** `prompts/get` (template variable `{name}` and the prompt's arguments). */
  readonly prompts?: MappingEntry;
}

/** MCP tool annotations (hints; the proxy uses them as defaults only). */
export interface ToolAnnotations {
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
}

export interface Classified {
  readonly action: string;
  readonly resource: string;
  readonly class: ActionClass;
  readonly risk: Risk;
  /** `action.tool`: the server and the tool, prompt or resource name. */
  readonly server: string;
  readonly toolName: string;
  /** What is digested as the arguments. */
  readonly args: unknown;
}

const RISKS: readonly string[] = ['low', 'medium', 'high', 'critical'];

export function loadConfig(file: string): ProxyConfig {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InvalidConfigError(`Cannot read the proxy config ${file}: ${(e as Error).message}`);
  }
  return parseConfig(value, file);
}

/** Checks a parsed config; throws `InvalidConfigError` naming the first wrong field. */
export function parseConfig(value: unknown, where = 'config'): ProxyConfig {
  const obj = (v: unknown, path: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new InvalidConfigError(`${where}: ${path} must be an object.`);
    }
    return v as Record<string, unknown>;
  };
  const entry = (v: unknown, path: string): MappingEntry => {
    const e = obj(v, path);
    for (const k of ['action', 'resource'] as const) {
      if (e[k] !== undefined && (typeof e[k] !== 'string' || e[k] === '')) {
        throw new InvalidConfigError(`${where}: ${path}.${k} must be a non-empty string.`);
      }
    }
    // The template's fixed text must fit an action name; what its variables bring is checked
    // per call (gate.ts).
    const problem =
      typeof e['action'] === 'string'
        ? actionNameProblem(e['action'].replace(/\{[^{}]+\}/g, 'x'))
        : undefined;
    if (problem !== undefined) {
      throw new InvalidConfigError(
        `${where}: ${path}.action ${JSON.stringify(e['action'])} cannot make an action name (1-128 letters, digits and _ . : -).`,
      );
    }
    if (e['risk'] !== undefined && !RISKS.includes(e['risk'] as string)) {
      throw new InvalidConfigError(`${where}: ${path}.risk must be one of ${RISKS.join(', ')}.`);
    }
    if (e['class'] !== undefined) {
      const c = obj(e['class'], `${path}.class`);
      for (const [k, b] of Object.entries(c)) {
        if (!CLASS_FLAGS.has(k) || typeof b !== 'boolean') {
          throw new InvalidConfigError(
            `${where}: ${path}.class takes only boolean ${ACTION_CLASS_FLAGS.join(', ')}.`,
          );
        }
      }
    }
    return e as MappingEntry;
  };
  const root = obj(value, 'the config');
  if (root['server'] !== undefined && typeof root['server'] !== 'string') {
    throw new InvalidConfigError(`${where}: server must be a string.`);
  }
  const tools: Record<string, MappingEntry> = {};
  if (root['tools'] !== undefined) {
    for (const [name, e] of Object.entries(obj(root['tools'], 'tools'))) {
      tools[name] = entry(e, `tools.${name}`);
    }
  }
  const config: {
    -readonly [K in keyof ProxyConfig]: ProxyConfig[K];
  } = { tools };
  if (typeof root['server'] === 'string') config.server = root['server'];
  if (root['resources'] !== undefined) config.resources = entry(root['resources'], 'resources');
  if (root['prompts'] !== undefined) config.prompts = entry(root['prompts'], 'prompts');
  return config;
}

/**
 * The class and risk the annotations imply, as the MCP specification reads them: a tool that is
 * not read-only is presumed destructive and open-world unless it says otherwise.
 */
export function classFromAnnotations(a: ToolAnnotations | undefined): {
  class: ActionClass;
  risk: Risk;
} {
  const readOnly = a?.readOnlyHint === true;
  const irreversible = !readOnly && a?.destructiveHint !== false;
  const external = a?.openWorldHint !== false;
  return {
    class: { ...NO_ACTION_CLASS, irreversible, external },
    risk: readOnly ? 'low' : irreversible ? 'high' : 'medium',
  };
}

/** Fills `{name}` from `vars`; an unknown or non-scalar variable becomes an empty string. */
export function fillTemplate(template: string, vars: Readonly<Record<string, unknown>>): string {
  return template.replace(/\{([^{}]+)\}/g, (_m, name: string) => {
    const v = vars[name];
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : '';
  });
}

/** How one intercepted request is attributed: action, resource, class, risk. */
export function classify(
  config: ProxyConfig,
  serverName: string,
  method: string,
  params: Readonly<Record<string, unknown>>,
  annotations: (tool: string) => ToolAnnotations | undefined,
): Classified {
  const server = config.server ?? serverName;
  if (method === 'tools/call') {
    const tool = typeof params['name'] === 'string' ? params['name'] : '';
    const args = (params['arguments'] ?? {}) as Record<string, unknown>;
    const e = config.tools?.[tool];
    const vars = { ...(typeof args === 'object' && args !== null ? args : {}), server, tool };
    const d = classFromAnnotations(annotations(tool));
    const actionVars = {
      ...vars,
      server: actionServerName(server),
      tool: actionNamePart(tool, 'unnamed'),
    };
    return {
      action: e?.action ? fillTemplate(e.action, actionVars) : defaultActionName(server, tool),
      resource: fillTemplate(e?.resource ?? 'mcp:{server}/{tool}', vars),
      class: { ...d.class, ...e?.class },
      risk: e?.risk ?? d.risk,
      server,
      toolName: tool,
      args,
    };
  }
  const isResource = method === 'resources/read';
  const e = isResource ? config.resources : config.prompts;
  const name = isResource ? params['uri'] : params['name'];
  const args = isResource ? { uri: name } : { name, arguments: params['arguments'] ?? {} };
  const promptArgs = (isResource ? {} : (params['arguments'] ?? {})) as Record<string, unknown>;
  const vars = { ...promptArgs, server, uri: name, name };
  const actionVars = {
    ...vars,
    server: actionServerName(server),
    name: typeof name === 'string' ? actionNamePart(name, 'unnamed') : '',
  };
  return {
    action: e?.action
      ? fillTemplate(e.action, actionVars)
      : defaultActionName(server, isResource ? 'read_resource' : 'get_prompt'),
    resource: fillTemplate(e?.resource ?? (isResource ? '{uri}' : 'prompt:{server}/{name}'), vars),
    class: { ...NO_ACTION_CLASS, ...e?.class },
    risk: e?.risk ?? 'low',
    server,
    toolName: typeof name === 'string' ? name : '',
    args,
  };
}
