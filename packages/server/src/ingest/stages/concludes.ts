import { ACTION_CLASS_FLAGS, isActionRecord } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import type { Draft, Stage } from '../draft.js';

/** What makes an action record the same action as another: who, what, on what, decided how. */
interface ActionKey {
  readonly actor: string | null;
  readonly name: string | null;
  readonly resource: string | null;
  readonly decision: string | null;
  readonly level: string;
}

/** Where an earlier record is looked up by id (the ledger's storage). */
export interface StoredById {
  getEntryById(id: string): Promise<{ readonly canonical: string; readonly level: string } | null>;
}

const keyOf = (r: EventRecord, level: string): ActionKey => ({
  actor: r.actor?.id ?? null,
  name: r.action?.name ?? null,
  resource: r.action?.resource ?? null,
  decision: r.policy?.decision_id ?? null,
  level,
});

const sameAction = (a: ActionKey, b: ActionKey) =>
  a.actor === b.actor &&
  a.name === b.name &&
  a.resource === b.resource &&
  a.decision === b.decision &&
  a.level === b.level;

/** Only an action that fails closed has an intent: one of its class flags is set. */
const mayFollowIntent = (r: EventRecord) =>
  ACTION_CLASS_FLAGS.some((f) => r.action?.class?.[f] === true);

/**
 * A stage after the policy stages: marks the outcome of a fail-closed action (`concludes`), so
 * that the action counts once in coverage — by its intent, which is always recorded first (the
 * SDK and the MCP proxy make it durable before the tool runs, so it exists even when the
 * outcome never comes). A record concludes an intent when its `cause.record_id` names a
 * `pending` action record — stored already, or earlier in this request — of the same actor,
 * action, resource, decision and attribution level: a record of another actor, or of a weaker
 * level, that points at an intent is counted as an action of its own, so nobody can hide an
 * action from coverage by naming someone else's intent. One lookup by id, and only for records
 * that can follow an intent (a class flag set, an outcome other than `pending`, a cause).
 * Called once per request: it remembers the intents the request itself carries.
 */
export function markConclusions(storage: StoredById): Stage {
  const intents = new Map<string, ActionKey>();
  return async (draft) => {
    const r = draft.record;
    if (!isActionRecord(r) || !mayFollowIntent(r)) return draft;
    const level = draft.attribution.level;
    if (r.outcome?.status === 'pending') {
      intents.set(r.id, keyOf(r, level));
      return draft;
    }
    const concluded = await concludedIntent(
      r,
      level,
      (id) => intents.get(id) ?? storedIntent(storage, id),
    );
    return concluded === undefined ? draft : ({ ...draft, concludes: concluded } satisfies Draft);
  };
}

/**
 * The same rule over a record already stored at `level` (coverage facts filled at start for
 * entries of an older schema): whether it concludes a stored intent, so it counts as no action.
 */
export async function concludesStoredIntent(
  storage: StoredById,
  r: EventRecord,
  level: string,
): Promise<boolean> {
  if (!isActionRecord(r) || !mayFollowIntent(r) || r.outcome?.status === 'pending') return false;
  return (await concludedIntent(r, level, (id) => storedIntent(storage, id))) !== undefined;
}

/**
 * The id of the intent an outcome `r` (a fail-closed action, not `pending`) concludes: its
 * `cause.record_id`, when `intentOf` finds there a `pending` record of the same action.
 */
async function concludedIntent(
  r: EventRecord,
  level: string,
  intentOf: (id: string) => ActionKey | undefined | Promise<ActionKey | undefined>,
): Promise<string | undefined> {
  const causeId = r.cause?.record_id;
  if (causeId === undefined || causeId === r.id) return undefined;
  const intent = await intentOf(causeId);
  return intent !== undefined && sameAction(intent, keyOf(r, level)) ? causeId : undefined;
}

async function storedIntent(storage: StoredById, id: string): Promise<ActionKey | undefined> {
  const e = await storage.getEntryById(id);
  if (!e) return undefined;
  let r: EventRecord;
  try {
    r = JSON.parse(e.canonical) as EventRecord;
  } catch {
    return undefined;
  }
  return isActionRecord(r) && r.outcome?.status === 'pending' ? keyOf(r, e.level) : undefined;
}
