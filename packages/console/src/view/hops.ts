/**
 * The chain of ACTORS behind one action, as the provenance picture draws it: the human (or
 * workflow) at the root, each agent the authority was delegated to, and the tool call at the
 * end. The witness records (credential issued, delegation granted, policy decision, outcome,
 * revocations, alerts) are marks on the hop they speak for, never hops of their own: the
 * issuer and the decision point are witnesses, not actors.
 *
 * Pure: the collector's provenance answer in, hops out. The actors come from the action
 * record (its initiator, its `delegation` chain root first, its actor); the issuer's grants
 * are matched to hops by the hop they grant (`from` → `to`).
 */
import type { EventRecord } from '@provenant/core';
import { impliedKind, shortName } from '@provenant/core/vocabulary';
import type { PrincipalKind } from '@provenant/core/vocabulary';
import { ALERT_LABEL, decisionLabel, levelLabel, outcomeLabel } from './trust.ts';
import type { Tone } from './trust.ts';

/** One check of the collector's answer (`GET /v1/events/{id}/provenance`). */
export interface ProvenanceCheck {
  readonly id: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** The parts of the provenance answer the hops are built from. */
export interface ProvenanceInput {
  readonly checks: readonly ProvenanceCheck[];
  readonly evidence: {
    readonly entries: readonly { readonly role: string; readonly record: unknown }[];
  };
}

export type HopRole =
  'human' | 'workflow' | 'service' | 'service account' | 'agent' | 'sub-agent' | 'tool call';

export type MarkKind =
  | 'credential'
  | 'delegation'
  | 'decision'
  | 'outcome'
  | 'attribution'
  | 'revocation'
  | 'remediation'
  | 'alert'
  | 'missing'
  | 'check';

/** One piece of evidence on a hop. */
export interface HopMark {
  readonly kind: MarkKind;
  readonly text: string;
  readonly tone: Tone;
  readonly detail: string;
  /** The record behind the mark (its inclusion is checked in the browser), or null. */
  readonly recordId: string | null;
}

export interface Hop {
  readonly role: HopRole;
  /** The principal's id; for the tool call, the action's name. */
  readonly id: string;
  /** A short name to show (`planner/19c2`, `alice`, the action name). */
  readonly name: string;
  /** The tool call's resource. */
  readonly resource?: string;
  readonly marks: readonly HopMark[];
}

const record = (r: unknown): EventRecord => r as EventRecord;

function roleOf(kind: PrincipalKind | undefined, agentsBefore: number): HopRole {
  switch (kind) {
    case 'human':
      return 'human';
    case 'workflow':
      return 'workflow';
    case 'service':
      return 'service';
    case 'service_account':
      return 'service account';
    default:
      return agentsBefore === 0 ? 'agent' : 'sub-agent';
  }
}

const scopes = (s: readonly string[] | undefined) =>
  s && s.length > 0 ? s.join(' ') : 'no scopes';

/** The mark of the issuer's `credential.issued` record on the hop it was issued to. */
const issuedMark = (r: EventRecord, c: NonNullable<EventRecord['credential']>): HopMark => ({
  kind: 'credential',
  text: `credential issued (${c.grant ?? 'grant unknown'})`,
  tone: 'ok',
  detail: `${c.jti}: ${scopes(c.scope)}; by ${r.actor?.id ?? '?'} at ${r.time}`,
  recordId: r.id,
});

/** The actors of the action, root first, each once in a row. */
function actorPath(action: EventRecord): string[] {
  const path: string[] = [];
  const push = (id: string | undefined) => {
    if (id !== undefined && path.at(-1) !== id) path.push(id);
  };
  push(action.initiator?.id);
  for (const hop of action.delegation ?? []) {
    push(hop.from);
    push(hop.to);
  }
  push(action.actor?.id);
  return path;
}

/** Which hop a failed check of the collector speaks for (the last actor, or the tool call). */
function checkHop(id: string, actors: number): number | null {
  const n = /^(?:hop_granted|scopes_narrow):(\d+)$/.exec(id);
  if (n) return Math.min(Number(n[1]), actors - 1);
  if (id === 'initiator_credential') return 0;
  if (id === 'credential' || id === 'window') return actors - 1;
  if (['attribution', 'decision', 'decision_matches', 'outcome', 'hops'].includes(id)) {
    return actors;
  }
  // not_revoked and no_alerts are drawn from their records; inclusion is checked per mark.
  return null;
}

/** The risk state a decision was made under, as the decision mark's detail ends. */
function postureText(p: NonNullable<EventRecord['policy']>['posture']): string {
  if (!p) return '';
  const codes = [...new Set(p.signals.map((s) => s.code))].join(', ');
  return `; posture ${p.level}${codes ? ` (${codes} in the last ${Math.round(p.window_sec / 60)} min)` : ''}`;
}

/** The hops of the chain of actors, human first, tool call last. Empty without an action. */
export function actorHops(answer: ProvenanceInput): Hop[] {
  const entries = answer.evidence.entries.map((e) => ({ role: e.role, record: record(e.record) }));
  const action = entries.find((e) => e.role === 'action')?.record;
  if (action === undefined) return [];
  const of = (role: string) => entries.filter((e) => e.role === role).map((e) => e.record);
  const credentials = of('credential');
  const delegations = of('delegation');
  const decision = of('decision')[0];
  const credentialed = action.credential !== undefined;

  const path = actorPath(action);
  const marks: HopMark[][] = path.map(() => []);
  const grantJti: (string | undefined)[] = path.map(() => undefined);
  let agents = 0;
  const roles = path.map((id) => {
    const kind =
      id === action.initiator?.id
        ? action.initiator.kind
        : id === action.actor?.id
          ? action.actor.kind
          : impliedKind(id);
    const role = roleOf(kind, agents);
    if (role === 'agent' || role === 'sub-agent') agents++;
    return role;
  });

  path.forEach((id, i) => {
    const m = marks[i]!;
    if (i === 0) {
      const root = credentials.find((c) => (c.credential?.sub ?? c.initiator?.id) === id);
      if (root?.credential) {
        grantJti[i] = root.credential.jti;
        m.push(issuedMark(root, root.credential));
      } else if (id !== action.initiator?.id) {
        m.push({
          kind: 'missing',
          text: 'no initiator named',
          tone: 'warn',
          detail: 'The record names no initiator: nobody is shown as the root of responsibility.',
          recordId: null,
        });
      } else if (credentialed && path.length > 1) {
        m.push({
          kind: 'missing',
          text: 'no credential record',
          tone: 'bad',
          detail: 'No issuer record of the first credential of this chain was found.',
          recordId: null,
        });
      } else if (!credentialed) {
        m.push({
          kind: 'missing',
          text: 'claimed, no credential',
          tone: 'warn',
          detail: 'The record names this initiator without a credential that proves it.',
          recordId: null,
        });
      }
      return;
    }
    const from = path[i - 1];
    const grant = delegations.find(
      (d) => d.delegation?.[0]?.from === from && d.delegation?.[0]?.to === id,
    );
    if (grant) {
      grantJti[i] = grant.credential?.jti;
      m.push({
        kind: 'delegation',
        text: `delegation granted (${scopes(grant.credential?.scope)})`,
        tone: 'ok',
        detail: `${shortName(from)} → ${shortName(id)} as ${grant.credential?.jti ?? '?'}; by ${grant.actor?.id ?? '?'} at ${grant.time}`,
        recordId: grant.id,
      });
      return;
    }
    // A credential issued to this actor itself (it acts in its own name, client_credentials).
    const own = credentials.find((c) => c.credential?.sub === id);
    if (own?.credential) {
      grantJti[i] = own.credential.jti;
      m.push(issuedMark(own, own.credential));
      return;
    }
    m.push(
      credentialed
        ? {
            kind: 'missing',
            text: 'no delegation record',
            tone: 'bad',
            detail: `No issuer record grants ${shortName(from)} → ${shortName(id)}.`,
            recordId: null,
          }
        : {
            kind: 'missing',
            text: 'claimed, no credential',
            tone: 'warn',
            detail: (action.delegation ?? []).some((h) => h.from === from && h.to === id)
              ? `The record says ${shortName(from)} delegated to this actor; no credential proves it.`
              : `The record names this actor acting for ${shortName(from)}; no credential proves it.`,
            recordId: null,
          },
    );
  });

  for (const r of of('revocation')) {
    const jti = r.credential?.jti;
    let at = grantJti.findIndex((j) => j !== undefined && j === jti);
    if (at < 0) at = path.length - 1;
    const before = Date.parse(r.time) <= Date.parse(action.time);
    marks[at]?.push({
      kind: 'revocation',
      text: before ? 'credential revoked before the action' : 'credential revoked after',
      tone: before ? 'bad' : 'warn',
      detail: `${jti ?? '?'} revoked at ${r.time}`,
      recordId: r.id,
    });
  }

  const tool: HopMark[] = [];
  // Remediations (AIMS): a disabled principal on its hop, a key retired at once on the acting
  // hop (whose credential it invalidates), a replaced policy set on the tool call.
  const remediated: { at: number | 'tool'; mark: HopMark }[] = of('remediation').map((r) => {
    const m = r.remediation;
    const before = Date.parse(r.time) <= Date.parse(action.time);
    const when = before ? 'before the action' : 'after';
    const targets = (m?.remediates ?? []).map((t) => t.id).join(', ') || '?';
    const mark = (text: string): HopMark => ({
      kind: 'remediation',
      text: `${text} ${when}`,
      tone: before ? 'bad' : 'warn',
      detail: `remediation ${m?.cause ?? '?'} of ${targets}, recorded by ${r.actor?.id ?? '?'} at ${r.time}`,
      recordId: r.id,
    });
    switch (m?.cause) {
      case 'principal_disabled': {
        const at = path.findIndex((id) => m.remediates.some((t) => t.id === id));
        return { at: at < 0 ? path.length - 1 : at, mark: mark('principal disabled') };
      }
      case 'key_retired':
        return { at: path.length - 1, mark: mark('issuer key retired') };
      case 'policy_changed':
        return { at: 'tool', mark: mark('policy set replaced') };
      default:
        return { at: 'tool', mark: mark(r.type) };
    }
  });
  for (const { at, mark } of remediated) if (at !== 'tool') marks[at]?.push(mark);
  if (decision) {
    const d = decisionLabel(decision.policy?.decision);
    const by = decision.policy?.determining?.join(', ') || 'no policy';
    tool.push({
      kind: 'decision',
      text: `decision: ${d.text}`,
      tone: d.tone,
      detail: `${decision.policy?.engine ?? '?'} ${decision.policy?.decision ?? '?'} by ${by}${decision.policy?.reason ? ` (${decision.policy.reason})` : ''}; recorded by ${decision.actor?.id ?? '?'} at ${decision.time}${postureText(decision.policy?.posture)}`,
      recordId: decision.id,
    });
  } else if (action.policy) {
    tool.push({
      kind: 'missing',
      text: 'decision not recorded',
      tone: 'bad',
      detail: `The action cites decision ${action.policy.decision_id}; the decision point never recorded it.`,
      recordId: null,
    });
  } else {
    tool.push({
      kind: 'missing',
      text: 'no policy decision',
      tone: 'warn',
      detail: 'The action cites no policy decision.',
      recordId: null,
    });
  }
  const outcome = outcomeLabel(action.outcome?.status);
  tool.push({
    kind: 'outcome',
    text: `outcome: ${outcome.text}`,
    tone: outcome.tone,
    detail: action.outcome?.error
      ? `${outcome.explain} ${action.outcome.error.code}${action.outcome.error.message ? `: ${action.outcome.error.message}` : ''}`
      : outcome.explain,
    recordId: action.id,
  });
  const level = levelLabel(action.attribution?.level);
  tool.push({
    kind: 'attribution',
    text: `attribution: ${level.text}`,
    tone: level.tone,
    detail: `${level.explain}${action.attribution?.reasons.length ? ` (${action.attribution.reasons.join(', ')})` : ''}`,
    recordId: null,
  });
  for (const { at, mark } of remediated) if (at === 'tool') tool.push(mark);
  for (const a of of('alert')) {
    tool.push({
      kind: 'alert',
      text: `${ALERT_LABEL.text}: ${a.action?.name ?? a.type}`,
      tone: ALERT_LABEL.tone,
      detail: a.outcome?.error?.message ?? a.time,
      recordId: a.id,
    });
  }

  const hops: { role: HopRole; id: string; name: string; resource?: string; marks: HopMark[] }[] =
    path.map((id, i) => ({ role: roles[i]!, id, name: shortName(id), marks: marks[i]! }));
  const name = action.action?.name ?? action.type;
  hops.push({
    role: 'tool call',
    id: name,
    name,
    ...(action.action?.resource !== undefined ? { resource: action.action.resource } : {}),
    marks: tool,
  });

  for (const c of answer.checks) {
    if (c.ok) continue;
    const at = checkHop(c.id, path.length);
    if (at === null) continue;
    hops[at]?.marks.push({
      kind: 'check',
      text: `check failed: ${c.id}`,
      tone: 'bad',
      detail: c.detail,
      recordId: null,
    });
  }
  return hops;
}
