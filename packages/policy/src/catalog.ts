/**
 * The action catalog: the collector's own description of each action it decides on (its class,
 * risk and the resources it may be taken on), kept as `actions.json` in the policy folder and
 * versioned with the policies (it is part of the policy set's digest). A caller describes the
 * action it asks about, but may only raise what the catalog says, never lower it: a deletion the
 * catalog calls irreversible is decided as irreversible whatever the request claims.
 */
import { ACTION_CLASS_FLAGS, type ActionClassFlag, actionClassFlagList } from '@provenant/core';
import { isActionName } from '@provenant/core/vocabulary';
import { PolicyError, summarize } from './errors.js';
import { globMatches } from './lib/glob.js';
import type { ActionInput } from './request.js';

/** The catalog's file name in a policy folder. */
export const ACTION_CATALOG_FILE = 'actions.json';

export type Risk = NonNullable<ActionInput['risk']>;
/** Lowest first: a caller's risk counts only when it is higher than the catalog's. */
export const RISKS: readonly Risk[] = ['low', 'medium', 'high', 'critical'];

/** One action as the catalog describes it. */
export interface CatalogEntry {
  /** The class flags that are true for this action (the others are false). */
  readonly class: readonly ActionClassFlag[];
  readonly risk: Risk;
  /** A resource pattern (`*` stands for any characters); absent: any resource. */
  readonly resource?: string;
}

export interface ActionCatalog {
  readonly actions: ReadonlyMap<string, CatalogEntry>;
}

/** Whether the catalog describes a decided action, or the caller's claim was all there was. */
export type CatalogStanding = 'known' | 'unknown';

/** What the decision point decides on: the request's action with the catalog applied. */
export interface CatalogedAction {
  readonly action: ActionInput;
  readonly catalog: CatalogStanding;
  /** The catalog's resource pattern when the resource does not match it; else undefined. */
  readonly resourceOutside?: string;
}

const ENTRY_KEYS = new Set(['class', 'risk', 'resource']);

/**
 * Parses `actions.json`: `{ "actions": { "<action name>": { "class": [flags], "risk": "…",
 * "resource"?: "pattern" } } }`. Anything else (another key, an unknown flag or risk, a name the
 * decision route would refuse) throws `PolicyError` `invalid_action_catalog` with every problem
 * in `messages`, so a catalog loads whole or not at all.
 */
export function parseActionCatalog(text: string): ActionCatalog {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalid([`${ACTION_CATALOG_FILE} is not JSON: ${(e as Error).message}`]);
  }
  const problems: string[] = [];
  if (!isObject(raw) || !isObject(raw['actions'])) {
    throw invalid([`${ACTION_CATALOG_FILE} must be an object with an "actions" object.`]);
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'actions') problems.push(`${ACTION_CATALOG_FILE}: unknown key "${key}".`);
  }
  const actions = new Map<string, CatalogEntry>();
  for (const [name, value] of Object.entries(raw['actions'])) {
    const at = `${ACTION_CATALOG_FILE}: actions["${name}"]`;
    if (!isActionName(name)) {
      problems.push(`${at}: an action name is 1-128 letters, digits and _ . : -`);
      continue;
    }
    if (!isObject(value)) {
      problems.push(`${at} must be an object with "class" and "risk".`);
      continue;
    }
    for (const key of Object.keys(value)) {
      if (!ENTRY_KEYS.has(key)) problems.push(`${at}: unknown key "${key}".`);
    }
    const cls = value['class'];
    const flags: ActionClassFlag[] = [];
    if (!Array.isArray(cls)) {
      problems.push(`${at}.class must be a list of ${actionClassFlagList('or')} (or []).`);
    } else {
      for (const f of cls) {
        if (!(ACTION_CLASS_FLAGS as readonly unknown[]).includes(f)) {
          problems.push(`${at}.class: ${JSON.stringify(f)} is not ${actionClassFlagList('or')}.`);
        } else if (!flags.includes(f as ActionClassFlag)) flags.push(f as ActionClassFlag);
      }
    }
    const risk = value['risk'];
    if (!(RISKS as readonly unknown[]).includes(risk)) {
      problems.push(`${at}.risk must be ${RISKS.join(', ')}.`);
    }
    const resource = value['resource'];
    if (resource !== undefined && (typeof resource !== 'string' || resource === '')) {
      problems.push(`${at}.resource must be a non-empty resource pattern.`);
    }
    actions.set(name, {
      class: flags,
      risk: risk as Risk,
      ...(typeof resource === 'string' ? { resource } : {}),
    });
  }
  if (problems.length > 0) throw invalid(problems);
  return { actions };
}

/**
 * The action to decide on: for an action the catalog knows, its class flags OR the caller's and
 * the higher of the two risks; for one it does not know (or with no catalog), the caller's claim.
 */
export function catalogAction(catalog: ActionCatalog | null, action: ActionInput): CatalogedAction {
  const entry = catalog?.actions.get(action.name);
  if (entry === undefined) return { action, catalog: 'unknown' };
  const claimed = action.class;
  const cls = Object.fromEntries(
    ACTION_CLASS_FLAGS.map((f) => [f, entry.class.includes(f) || claimed?.[f] === true]),
  ) as Record<ActionClassFlag, boolean>;
  const risk =
    action.risk !== undefined && RISKS.indexOf(action.risk) > RISKS.indexOf(entry.risk)
      ? action.risk
      : entry.risk;
  const outside =
    entry.resource !== undefined && !globMatches(entry.resource, action.resource)
      ? entry.resource
      : undefined;
  return {
    action: { ...action, class: cls, risk },
    catalog: 'known',
    ...(outside === undefined ? {} : { resourceOutside: outside }),
  };
}

function invalid(messages: string[]): PolicyError {
  return new PolicyError(
    'invalid_action_catalog',
    summarize('The action catalog is invalid', messages),
    { messages },
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
