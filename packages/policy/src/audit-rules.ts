/**
 * Audit rules, like Kubernetes audit policy levels: per action-name pattern or action class, how
 * much of a record's arguments is kept, the least attribution level it needs, and whether it
 * needs a recorded policy decision. Rules are tried in order; the first that matches applies,
 * else the default.
 */
import {
  ACTION_CLASS_FLAGS,
  type ActionClassFlag,
  actionClassFlagList,
  type ActionClassFlags,
  ATTRIBUTION_LEVELS,
  digestOf,
  hmacValue,
  keyDigest,
  keyedDigest,
} from '@provenant/core';
import type { AttributionLevel, EventRecord, JsonValue } from '@provenant/core';
import { levelAtLeast } from '@provenant/identity';
import { PolicyError } from './errors.js';
import { globMatches } from './lib/glob.js';
import { parseArgsPath, replaceAt, resolveArgsPath, valueAt } from './lib/args-path.js';

/**
 * What of `action.args` is kept.
 * - `metadata`: the arguments and their digest are dropped.
 * - `digest`: the arguments are dropped; `args_digest` is their keyed digest (`keyedDigest`).
 * - `redact`: the arguments are kept with the value at each `redact` path replaced by
 *   `hmacValue(key, value)`; `args_digest` is the keyed digest of the original arguments.
 * - `full`: the arguments are kept, with their unkeyed `args_digest`.
 * Under every level but `full`, `outcome.result_digest` is keyed too (see applyAuditRule).
 */
export type AuditLevel = 'metadata' | 'digest' | 'redact' | 'full';
export const AUDIT_LEVELS: readonly AuditLevel[] = ['metadata', 'digest', 'redact', 'full'];

export interface AuditRule {
  match: {
    /** An action-name pattern where `*` stands for any characters, e.g. `github.*`. */
    action?: string;
    /** Each flag given must equal the record's `action.class` flag (a record with no class never matches). */
    class?: Partial<ActionClassFlags>;
  };
  level: AuditLevel;
  /** For `redact`: paths into the arguments, e.g. `token`, `headers.authorization`, `items[*].secret`. */
  redact?: string[];
  /** The least attribution level a matching record needs. */
  minimumLevel?: AttributionLevel;
  /** A matching action record needs a recorded policy decision (`policy.decision_id`). */
  requireDecision?: boolean;
}

export interface AuditRules {
  /** Tried in order: the first that matches applies. */
  rules: AuditRule[];
  /** Applies when no rule matches; its `match` is not consulted. */
  default: AuditRule;
}

const PRIVILEGED_ACTION_RULE = {
  level: 'digest',
  minimumLevel: 'verified',
  requireDecision: true,
} as const;

/**
 * Privileged, irreversible and external actions: arguments digest only, `verified` attribution and
 * a recorded decision. Everything else: arguments kept in full, any attribution.
 */
export const DEFAULT_AUDIT_RULES: AuditRules = deepFreeze({
  rules: ACTION_CLASS_FLAGS.map((flag) => ({
    match: { class: { [flag]: true } },
    ...PRIVILEGED_ACTION_RULE,
  })),
  default: { match: {}, level: 'full', minimumLevel: 'unattributed', requireDecision: false },
});

/** The rule that applies to `record`: the first in `rules.rules` that matches, else the default. */
export function ruleFor(record: EventRecord, rules: AuditRules): AuditRule {
  return rules.rules.find((rule) => matches(rule, record)) ?? rules.default;
}

function matches(rule: AuditRule, record: EventRecord): boolean {
  const { action: pattern, class: cls } = rule.match;
  if (pattern !== undefined) {
    const name = record.action?.name;
    if (name === undefined || !globMatches(pattern, name)) return false;
  }
  if (cls !== undefined) {
    const actual = record.action?.class;
    for (const flag of ACTION_CLASS_FLAGS) {
      const wanted = cls[flag];
      if (wanted !== undefined && (actual === undefined || actual[flag] !== wanted)) return false;
    }
  }
  return true;
}

/**
 * `record` as `rule` says to keep it: a new record (the input is not changed). Only
 * `action.args`, `action.args_digest` and `outcome.result_digest` differ; a record with none of
 * them is returned itself. `hmacKey` is the deployment's key (at least 16 bytes).
 *
 * Under every level but `full`, what is not kept in clear is kept only keyed: `args_digest` and
 * `result_digest` are `keyedDigest`s (a digest the record brought without its value is keyed as
 * sent, `keyDigest`), so a low-entropy secret cannot be recovered by hashing guesses; whoever
 * holds the key can still test a known value.
 */
export function applyAuditRule(
  record: EventRecord,
  rule: AuditRule,
  hmacKey: Uint8Array,
): EventRecord {
  const action = record.action;
  const args = action?.args;
  const sentArgsDigest = action?.args_digest;
  const resultDigest = record.outcome?.result_digest;
  const full = rule.level === 'full';
  if (args === undefined && (full || (sentArgsDigest === undefined && resultDigest === undefined)))
    return record;
  checkKey(hmacKey);
  // Shallow copies: only these fields change, and redaction copies the arguments itself. A
  // deep clone of every record cost more than the rest of ingest.
  const out: EventRecord = { ...record };
  if (!full && resultDigest !== undefined) {
    out.outcome = { ...record.outcome!, result_digest: keyDigest(hmacKey, resultDigest) };
  }
  if (action === undefined) return out;
  const outAction: NonNullable<EventRecord['action']> = { ...action };
  out.action = outAction;
  const keyedArgs = () =>
    args !== undefined ? keyedDigest(hmacKey, args) : keyDigest(hmacKey, sentArgsDigest as string);
  switch (rule.level) {
    case 'metadata':
      // Metadata only: even a digest of low-entropy arguments could be guessed.
      delete outAction.args;
      delete outAction.args_digest;
      break;
    case 'digest':
      if (args !== undefined || sentArgsDigest !== undefined) outAction.args_digest = keyedArgs();
      delete outAction.args;
      break;
    case 'redact':
      if (args !== undefined || sentArgsDigest !== undefined) outAction.args_digest = keyedArgs();
      if (args !== undefined) outAction.args = redactArgs(args, rule.redact ?? [], hmacKey);
      break;
    case 'full':
      outAction.args_digest = digestOf(args);
      break;
  }
  return out;
}

/**
 * A copy of `args` with the value at each path replaced by its HMAC. Each replacement is the HMAC
 * of the ORIGINAL value there; when one path lies inside another's value, the outer one wins, so
 * every stored HMAC can be checked against a known value with `hmacValue`.
 */
export function redactArgs(
  args: Record<string, JsonValue>,
  paths: readonly string[],
  hmacKey: Uint8Array,
): Record<string, JsonValue> {
  checkKey(hmacKey);
  const found: (string | number)[][] = [];
  for (const path of paths) {
    const steps = parseArgsPath(path);
    if (typeof steps === 'string') throw new TypeError(`The redact path "${path}" ${steps}.`);
    found.push(...resolveArgsPath(args, steps).filter((at) => at.length > 0));
  }
  const key = (at: readonly (string | number)[]): string => JSON.stringify(at);
  const all = new Set(found.map(key));
  const outermost = found.filter(
    (at) => !at.some((_, n) => n > 0 && n < at.length && all.has(key(at.slice(0, n)))),
  );
  const copy = structuredClone(args);
  const done = new Set<string>();
  for (const at of outermost) {
    if (done.has(key(at))) continue;
    done.add(key(at));
    replaceAt(copy, at, hmacValue(hmacKey, valueAt(args, at)));
  }
  return copy;
}

/** Re-exported: the one definition is core's (`digest-check` tests it too). */
export { hmacValue };

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length < 16) {
    throw new TypeError('The HMAC key must be at least 16 bytes.');
  }
}

/**
 * What `record` lacks under `rule`: `below_minimum_level` when its attribution level (absent:
 * `unattributed`) is weaker than `minimumLevel`; `decision_missing` when the rule requires a
 * decision and the record has an action but no `policy.decision_id`.
 */
export function auditViolations(record: EventRecord, rule: AuditRule): string[] {
  const out: string[] = [];
  const level = record.attribution?.level ?? 'unattributed';
  if (rule.minimumLevel !== undefined && !levelAtLeast(level, rule.minimumLevel)) {
    out.push('below_minimum_level');
  }
  if (rule.requireDecision === true && record.action !== undefined && record.policy === undefined) {
    out.push('decision_missing');
  }
  return out;
}

const RULE_FIELDS = new Set(['match', 'level', 'redact', 'minimumLevel', 'requireDecision']);
const MATCH_FIELDS = new Set(['action', 'class']);
const CLASS_FLAGS: ReadonlySet<string> = new Set(ACTION_CLASS_FLAGS);
const MAX_RULES = 1000;
const MAX_PATTERN = 256;
// eslint-disable-next-line no-control-regex -- control characters are what this refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Validates an audit rules config (parsed JSON): `{ "rules": [rule, …], "default": rule }`, where
 * `default` may be left out (then `DEFAULT_AUDIT_RULES.default`). Each rule is
 * `{ "match": { "action"?: pattern, "class"?: { flag: boolean } }, "level", "redact"?,
 * "minimumLevel"?, "requireDecision"? }`; `redact` is required with level `redact` and allowed
 * only there. Anything else throws a `PolicyError` `invalid_audit_rules` listing every problem,
 * each naming its place (e.g. `rules[2].level`).
 */
export function parseAuditRules(input: unknown): AuditRules {
  const problems: string[] = [];
  if (!isObject(input)) {
    throw new PolicyError(
      'invalid_audit_rules',
      'The audit rules must be a JSON object with a "rules" list.',
    );
  }
  for (const key of Object.keys(input)) {
    if (key !== 'rules' && key !== 'default')
      problems.push(`The audit rules have no field ${quote(key)}.`);
  }
  const rules: AuditRule[] = [];
  const list = input['rules'];
  if (!Array.isArray(list)) {
    problems.push('rules must be a list of rules.');
  } else if (list.length > MAX_RULES) {
    problems.push(`rules may hold at most ${MAX_RULES} rules.`);
  } else {
    list.forEach((raw, i) => {
      const rule = parseRule(raw, `rules[${i}]`, problems, false);
      if (rule !== undefined) rules.push(rule);
    });
  }
  let fallback: AuditRule = structuredClone(DEFAULT_AUDIT_RULES.default);
  if (input['default'] !== undefined) {
    const rule = parseRule(input['default'], 'default', problems, true);
    if (rule !== undefined) fallback = rule;
  }
  if (problems.length > 0) {
    throw new PolicyError(
      'invalid_audit_rules',
      `The audit rules are invalid: ${problems.join(' ')}`,
      { messages: problems },
    );
  }
  return { rules, default: fallback };
}

function parseRule(
  raw: unknown,
  at: string,
  problems: string[],
  isDefault: boolean,
): AuditRule | undefined {
  if (!isObject(raw)) {
    problems.push(`${at} must be an object.`);
    return undefined;
  }
  const before = problems.length;
  for (const key of Object.keys(raw)) {
    if (!RULE_FIELDS.has(key)) problems.push(`${at} has no field ${quote(key)}.`);
  }

  const match: AuditRule['match'] = {};
  const rawMatch = raw['match'];
  if (rawMatch === undefined) {
    if (!isDefault) problems.push(`${at}.match is required (use {} to match every record).`);
  } else if (!isObject(rawMatch)) {
    problems.push(`${at}.match must be an object.`);
  } else {
    if (isDefault && Object.keys(rawMatch).length > 0) {
      problems.push(
        `${at}.match must be empty: the default rule applies to every record no rule matched.`,
      );
    }
    for (const key of Object.keys(rawMatch)) {
      if (!MATCH_FIELDS.has(key))
        problems.push(`${at}.match has no field ${quote(key)}; use "action" or "class".`);
    }
    const action = rawMatch['action'];
    if (action !== undefined) {
      if (
        typeof action !== 'string' ||
        action === '' ||
        action.length > MAX_PATTERN ||
        CONTROL.test(action)
      ) {
        problems.push(
          `${at}.match.action must be an action-name pattern of 1 to ${MAX_PATTERN} characters, such as "github.*".`,
        );
      } else match.action = action;
    }
    const cls = rawMatch['class'];
    if (cls !== undefined) {
      if (!isObject(cls) || Object.keys(cls).length === 0) {
        problems.push(
          `${at}.match.class must be an object with at least one of ${ACTION_CLASS_FLAGS.join(', ')}.`,
        );
      } else {
        const flags: Partial<Record<ActionClassFlag, boolean>> = {};
        for (const [flag, value] of Object.entries(cls)) {
          if (!CLASS_FLAGS.has(flag)) {
            problems.push(
              `${at}.match.class has no flag ${quote(flag)}; use ${actionClassFlagList('or')}.`,
            );
          } else if (typeof value !== 'boolean') {
            problems.push(`${at}.match.class.${flag} must be true or false.`);
          } else flags[flag as ActionClassFlag] = value;
        }
        match.class = flags;
      }
    }
  }

  const level = raw['level'];
  if (typeof level !== 'string' || !(AUDIT_LEVELS as readonly string[]).includes(level)) {
    problems.push(`${at}.level must be one of ${AUDIT_LEVELS.join(', ')}.`);
  }
  const rule: AuditRule = { match, level: level as AuditLevel };

  const redact = raw['redact'];
  if (redact !== undefined) {
    if (level !== 'redact') {
      problems.push(`${at}.redact is only for level "redact".`);
    } else if (!Array.isArray(redact) || redact.length === 0) {
      problems.push(`${at}.redact must be a non-empty list of argument paths.`);
    } else {
      redact.forEach((path, j) => {
        const steps = typeof path === 'string' ? parseArgsPath(path) : 'is not a string';
        if (typeof steps === 'string') problems.push(`${at}.redact[${j}] ${steps}.`);
      });
      rule.redact = redact.filter((p): p is string => typeof p === 'string');
    }
  } else if (level === 'redact') {
    problems.push(
      `${at}.redact must list the argument paths to replace, e.g. ["token", "headers.authorization"].`,
    );
  }

  const minimumLevel = raw['minimumLevel'];
  if (minimumLevel !== undefined) {
    if (
      typeof minimumLevel !== 'string' ||
      !(ATTRIBUTION_LEVELS as readonly string[]).includes(minimumLevel)
    ) {
      problems.push(`${at}.minimumLevel must be one of ${ATTRIBUTION_LEVELS.join(', ')}.`);
    } else rule.minimumLevel = minimumLevel as AttributionLevel;
  }
  const requireDecision = raw['requireDecision'];
  if (requireDecision !== undefined) {
    if (typeof requireDecision !== 'boolean')
      problems.push(`${at}.requireDecision must be true or false.`);
    else rule.requireDecision = requireDecision;
  }
  return problems.length === before ? rule : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function quote(key: string): string {
  return JSON.stringify(key.slice(0, 64));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
