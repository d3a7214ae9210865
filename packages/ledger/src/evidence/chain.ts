import type { EventRecord } from '@provenant/core';
import { WITNESS_REASONS, isGrantRecord, shortName, witnessedAs } from '@provenant/core/vocabulary';

/**
 * The chain of responsibility of one action, joined from the three witnesses' records: the
 * issuer's `credential.issued` / `delegation.granted` / `credential.revoked`, the decision
 * point's `policy.decision`, and the executor's action record; and the remediations (AIMS) that
 * apply to it: a principal of the chain disabled, an issuer key retired at once after a
 * credential of the chain was issued, the decision's policy set replaced. Pure: records in,
 * checks out, so the collector and an offline verifier of an evidence bundle compute exactly
 * the same.
 */

/** What a record is in a chain. */
export type ChainRole =
  'credential' | 'delegation' | 'decision' | 'action' | 'revocation' | 'remediation' | 'alert';

export interface ProvenanceChain {
  readonly action: EventRecord;
  /** The action credential's grants, root first: the first credential, then each delegation. */
  readonly grants: readonly EventRecord[];
  /** A jti the walk up `parent_jti` could not find, or null when the chain reached its root. */
  readonly missingJti: string | null;
  readonly decision: EventRecord | null;
  /** Revocations of any credential of the chain (before or after the action). */
  readonly revocations: readonly EventRecord[];
  /** `security.alert` records about this action. */
  readonly alerts: readonly EventRecord[];
  /**
   * The collector's remediation records (`remediation` set) that apply to the chain, other than
   * revocations (see `remediationApplies`).
   */
  readonly remediations: readonly EventRecord[];
}

export interface ChainCheck {
  /** Stable id, e.g. `window`, `hop_granted:1`, `included:<record id>`. */
  readonly id: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ChainOptions {
  /** The issuer's principal: the only writer of credential witness records. */
  readonly issuer: string;
  /** The decision point's principal: the only writer of `policy.decision` records. */
  readonly decisionPoint: string;
  /** Clock skew tolerated when checking the credential window, seconds. */
  readonly skewSec: number;
  /** The collector's principal: the writer of registry records (default `service:provenant-collector`). */
  readonly collector?: string;
}

export const DEFAULT_CHAIN_OPTIONS: ChainOptions = {
  issuer: 'service:provenant-issuer',
  decisionPoint: 'service:provenant-pdp',
  skewSec: 30,
};

export { WITNESS_REASONS };

const byIssuer = (r: EventRecord, o: ChainOptions) =>
  r.actor?.id === o.issuer && witnessedAs(r, [WITNESS_REASONS.issuer]);
/** More grants than any credential can have (depth 4 plus the root, with room): stops cycles. */
const MAX_GRANTS = 16;

/** The record this alert names as its subject (`action.resource` = `record:<id>`). */
export function alertSubject(alert: EventRecord): string | null {
  const resource = alert.action?.resource;
  return resource?.startsWith('record:') ? resource.slice('record:'.length) : null;
}

/**
 * Joins the action with candidate witness records (any superset of the chain's records; others
 * are ignored): grants by `credential.jti` walking `parent_jti` up to the root credential, the
 * decision by `policy.decision_id`, revocations by jti, alerts by subject record id. Only the
 * collector's own witness records count (see WITNESS_REASONS).
 */
export function joinChain(
  action: EventRecord,
  candidates: readonly EventRecord[],
  options: ChainOptions = DEFAULT_CHAIN_OPTIONS,
): ProvenanceChain {
  const grantsByJti = new Map<string, EventRecord>();
  for (const r of candidates) {
    if (isGrantRecord(r) && r.credential && byIssuer(r, options)) {
      if (!grantsByJti.has(r.credential.jti)) grantsByJti.set(r.credential.jti, r);
    }
  }
  const grants: EventRecord[] = [];
  let missingJti: string | null = null;
  let jti: string | undefined = action.credential?.jti;
  const seen = new Set<string>();
  while (jti !== undefined && !seen.has(jti) && grants.length < MAX_GRANTS) {
    seen.add(jti);
    const grant = grantsByJti.get(jti);
    if (!grant) {
      missingJti = jti;
      break;
    }
    grants.unshift(grant);
    jti = grant.credential?.parent_jti;
  }
  const jtis = new Set(grants.map((g) => g.credential!.jti));
  if (action.credential) jtis.add(action.credential.jti);
  const decisionId = action.policy?.decision_id;
  const decision =
    decisionId === undefined
      ? null
      : (candidates.find(
          (r) =>
            r.type === 'policy.decision' &&
            r.actor?.id === options.decisionPoint &&
            witnessedAs(r, [WITNESS_REASONS.decisionPoint]) &&
            r.policy?.decision_id === decisionId,
        ) ?? null);
  const revocations = candidates.filter(
    (r) =>
      r.type === 'credential.revoked' &&
      byIssuer(r, options) &&
      r.credential !== undefined &&
      jtis.has(r.credential.jti),
  );
  const alerts = candidates.filter(
    (r) =>
      r.type === 'security.alert' &&
      witnessedAs(r, WITNESS_REASONS.alert) &&
      alertSubject(r) === action.id,
  );
  const writers = new Set([options.issuer, options.decisionPoint, options.collector ?? COLLECTOR]);
  const remediations = candidates.filter(
    (r) =>
      r.remediation !== undefined &&
      r.type !== 'credential.revoked' &&
      writers.has(r.actor?.id ?? '') &&
      witnessedAs(r, [WITNESS_REASONS.registry, WITNESS_REASONS.decisionPoint]) &&
      remediationApplies(r, action, grants, decision),
  );
  return { action, grants, missingJti, decision, revocations, alerts, remediations };
}

const COLLECTOR = 'service:provenant-collector';

/**
 * Whether a remediation record applies to an action's chain: a principal it disables is the
 * initiator, the actor or a hop of the chain; an issuer key it retires at once signed a
 * credential of the chain (every key older than the retirement is dropped, so every credential
 * issued before it); the policy set it replaces is the one the decision was made under.
 */
export function remediationApplies(
  r: EventRecord,
  action: EventRecord,
  grants: readonly EventRecord[],
  decision: EventRecord | null,
): boolean {
  const m = r.remediation;
  if (!m) return false;
  const targets = new Set(m.remediates.map((t) => `${t.kind} ${t.id}`));
  switch (m.cause) {
    case 'principal_disabled': {
      const principals = [
        action.initiator?.id,
        action.actor?.id,
        ...(action.delegation ?? []).flatMap((h) => [h.from, h.to]),
      ];
      return principals.some((p) => p !== undefined && targets.has(`principal ${p}`));
    }
    case 'key_retired': {
      const retiredAt = seconds(r.time);
      const issued = [...grants.map((g) => g.credential), action.credential];
      return issued.some((c) => c !== undefined && c.iat <= retiredAt);
    }
    case 'policy_changed': {
      const set = decision?.policy?.policy_set ?? action.policy?.policy_set;
      return set !== undefined && targets.has(`policy_set ${set}`);
    }
    case 'credential_revoked':
      return false; // joined as revocations
  }
}

/** Every record of the chain with its role, in narrative order. */
export function chainRecords(chain: ProvenanceChain): { role: ChainRole; record: EventRecord }[] {
  const out: { role: ChainRole; record: EventRecord }[] = [];
  for (const g of chain.grants) {
    out.push({ role: g.type === 'credential.issued' ? 'credential' : 'delegation', record: g });
  }
  if (chain.decision) out.push({ role: 'decision', record: chain.decision });
  out.push({ role: 'action', record: chain.action });
  for (const r of chain.revocations) out.push({ role: 'revocation', record: r });
  for (const r of chain.remediations) out.push({ role: 'remediation', record: r });
  for (const a of chain.alerts) out.push({ role: 'alert', record: a });
  return out;
}

const seconds = (time: string): number => Date.parse(time) / 1000;
const iso = (unix: number): string => new Date(unix * 1000).toISOString();

/** The checks of the joins, each with its result (inclusion in the log is checked elsewhere). */
export function checkChain(
  chain: ProvenanceChain,
  options: ChainOptions = DEFAULT_CHAIN_OPTIONS,
): ChainCheck[] {
  const checks: ChainCheck[] = [];
  const check = (id: string, ok: boolean, detail: string) => checks.push({ id, ok, detail });
  const { action, grants } = chain;
  const at = seconds(action.time);
  const cred = action.credential;

  check(
    'attribution',
    action.attribution?.level === 'verified',
    `the collector attributed the action as ${action.attribution?.level ?? 'nothing'}${
      action.attribution?.reasons.length ? ` (${action.attribution.reasons.join(', ')})` : ''
    }`,
  );
  if (!cred) {
    check('credential', false, 'the action carries no credential: nothing ties it to an issuer');
  } else {
    const leaf = grants.at(-1);
    check(
      'credential',
      leaf !== undefined && chain.missingJti === null,
      chain.missingJti !== null
        ? `no issuer record grants credential ${chain.missingJti}`
        : `credential ${cred.jti} and its ${grants.length - 1} parent(s) were witnessed by the issuer`,
    );
    const first = grants[0];
    check(
      'initiator_credential',
      first !== undefined &&
        first.credential?.parent_jti === undefined &&
        (first.type === 'credential.issued' ||
          (first.type === 'delegation.granted' &&
            OUTSIDE_ROOT_GRANTS.includes(first.credential?.grant ?? ''))),
      first
        ? `the chain starts at ${first.type} ${first.credential?.jti} (${first.credential?.grant ?? 'grant unknown'}) for ${first.credential?.sub ?? first.initiator?.id}${first.credential?.jwt_grant === undefined ? '' : `, on ${first.credential.jwt_grant.iss}'s grant ${first.credential.jwt_grant.jti}`}`
        : 'no first credential found',
    );
    const sameWindow =
      leaf?.credential !== undefined &&
      leaf.credential.iat === cred.iat &&
      leaf.credential.exp === cred.exp &&
      leaf.credential.iss === cred.iss;
    check(
      'window',
      sameWindow && at >= cred.iat - options.skewSec && at <= cred.exp + options.skewSec,
      `${action.time} ${sameWindow ? '' : '(the issuer recorded another window) '}against [${iso(cred.iat)}, ${iso(cred.exp)}] ±${options.skewSec}s`,
    );
  }
  const hops = action.delegation ?? [];
  const delegations = grants.filter((g) => g.type === 'delegation.granted');
  if (cred && hops.length !== delegations.length) {
    check(
      'hops',
      false,
      `the action names ${hops.length} delegation hop(s); the issuer witnessed ${delegations.length}`,
    );
  }
  delegations.forEach((g, i) => {
    const hop = hops[i];
    const granted = g.delegation?.[0];
    const ok =
      granted !== undefined &&
      hop !== undefined &&
      granted.from === hop.from &&
      granted.to === hop.to &&
      (hop.jti === undefined || hop.jti === g.credential?.jti) &&
      g.credential?.sub === action.initiator?.id &&
      g.credential?.iss === cred?.iss;
    check(
      `hop_granted:${i + 1}`,
      ok,
      granted
        ? `${granted.from} → ${granted.to} granted by ${g.actor?.id} as ${g.credential?.jti} at ${g.time}`
        : `grant ${g.credential?.jti} names no hop`,
    );
  });
  for (let i = 1; i < grants.length; i++) {
    const parent = grants[i - 1]!.credential!;
    const child = grants[i]!.credential!;
    const wider = (child.scope ?? []).filter((s) => !(parent.scope ?? []).includes(s));
    check(
      `scopes_narrow:${i}`,
      wider.length === 0 && child.exp <= parent.exp,
      wider.length > 0
        ? `${child.jti} adds ${wider.join(' ')} to its parent's scopes`
        : child.exp > parent.exp
          ? `${child.jti} outlives its parent`
          : `${(parent.scope ?? []).join(' ') || '(none)'} → ${(child.scope ?? []).join(' ') || '(none)'}`,
    );
  }
  // A credential addressed to an agent (the hop across processes, e.g. over A2A) is used only
  // by that agent, exchanging it: the grant after it must be the hop from its holder to it.
  grants.forEach((g, i) => {
    const aud = g.credential?.aud;
    if (g.type !== 'credential.issued' || aud === undefined) return;
    const sent = g.delegation?.[0];
    const next = grants[i + 1];
    const taken = next?.type === 'delegation.granted' ? next.delegation?.[0] : undefined;
    check(
      `addressed:${i}`,
      sent !== undefined &&
        taken !== undefined &&
        taken.from === sent.from &&
        taken.to === aud[0] &&
        sent.to === aud[0],
      taken
        ? `${g.credential?.jti} addressed to ${aud.join(' ')} by ${sent?.from ?? 'nobody named'}; exchanged by ${taken.to} as ${next?.credential?.jti}`
        : `${g.credential?.jti} addressed to ${aud.join(' ')} was not exchanged by it`,
    );
  });
  const before = chain.revocations.filter((r) => seconds(r.time) <= at);
  check(
    'not_revoked',
    before.length === 0,
    before.length === 0
      ? chain.revocations.length === 0
        ? 'no credential of the chain was revoked'
        : `revoked only after the action (${chain.revocations.map((r) => r.time).join(', ')})`
      : `revoked before the action: ${before.map((r) => `${r.credential?.jti} at ${r.time}`).join(', ')}`,
  );

  const ref = action.policy;
  const d = chain.decision;
  if (!ref) {
    check('decision', false, 'the action names no policy decision');
  } else if (!d) {
    check('decision', false, `no decision point record of decision ${ref.decision_id}`);
  } else {
    check('decision', true, `decision ${ref.decision_id} recorded by ${d.actor?.id} at ${d.time}`);
    const decidedChain = [d.initiator?.id, ...(d.delegation ?? []).map((h) => h.to)];
    const actionChain = [action.initiator?.id, ...hops.map((h) => h.to)];
    const problems: string[] = [];
    if (decidedChain.at(-1) !== action.actor?.id) problems.push('actor');
    if (JSON.stringify(decidedChain) !== JSON.stringify(actionChain)) problems.push('chain');
    if (d.action?.name !== action.action?.name) problems.push('action');
    if (d.action?.resource !== action.action?.resource) problems.push('resource');
    if (d.policy?.decision === 'deny' && action.outcome?.status !== 'denied')
      problems.push('denied yet ran');
    if (d.policy?.policy_set !== ref.policy_set) problems.push('policy set');
    if (seconds(d.time) > at + options.skewSec) problems.push('decided after the action');
    check(
      'decision_matches',
      problems.length === 0,
      problems.length === 0
        ? `${d.policy?.decision} for ${d.action?.name} on ${d.action?.resource} by ${decidedChain.at(-1)}`
        : `the decision differs from the action in: ${problems.join(', ')}`,
    );
  }
  check(
    'outcome',
    action.outcome !== undefined,
    action.outcome ? `outcome ${action.outcome.status}` : 'the action records no outcome',
  );
  // AIMS: a cached decision or a credential must not be used after a remediation took effect.
  const remediatedBefore = chain.remediations.filter((r) => seconds(r.time) <= at);
  check(
    'not_remediated',
    remediatedBefore.length === 0,
    remediatedBefore.length === 0
      ? chain.remediations.length === 0
        ? 'no remediation applies to the chain'
        : `remediated only after the action (${chain.remediations.map((r) => `${r.remediation?.cause} at ${r.time}`).join(', ')})`
      : `remediated before the action: ${remediatedBefore.map((r) => `${r.remediation?.cause} at ${r.time}`).join(', ')}`,
  );
  check(
    'no_alerts',
    chain.alerts.length === 0,
    chain.alerts.length === 0
      ? 'no security alert about this action'
      : chain.alerts.map((a) => `${a.action?.name} at ${a.time}`).join('; '),
  );
  return checks;
}

/**
 * Grants whose first credential is already a delegation to the agent: the human's proof came
 * from outside (an OIDC ID token, an ID-JAG, another domain's JWT authorization grant).
 */
const OUTSIDE_ROOT_GRANTS: readonly string[] = ['id_token', 'id_jag', 'jwt_bearer'];

/** The chain as a few readable sentences, root first. */
export function narrate(chain: ProvenanceChain): string[] {
  const lines: string[] = [];
  const { action } = chain;
  const first = chain.grants[0];
  if (first?.credential) {
    const c = first.credential;
    lines.push(
      `${shortName(c.sub ?? first.initiator?.id)} got credential ${c.jti} (${c.grant ?? 'issued'}; ${(c.scope ?? []).join(' ') || 'no scopes'}; valid ${iso(c.iat)} – ${iso(c.exp)})`,
    );
    // Issued on another domain's grant: that hop, as the grant named it.
    const g = c.jwt_grant;
    if (g !== undefined) {
      lines.push(
        `${g.profile === 'id_jag' ? 'on the ID-JAG' : 'on the grant'} ${g.jti} of ${g.iss} for ${g.aud}, whose subject there is ${g.sub}${g.act === undefined ? '' : ` (acting: ${g.act.map(shortName).join(' ← ')})`}`,
      );
    }
  }
  chain.grants.forEach((g, i) => {
    const aud = g.credential?.aud;
    if (g.type === 'credential.issued' && aud !== undefined) {
      const hop = g.delegation?.[0];
      lines.push(
        `${shortName(hop?.from)} sent ${shortName(aud[0])} a credential for it alone (${g.credential?.jti}; audience ${aud.join(' ')})`,
      );
      return;
    }
    if (g.type !== 'delegation.granted') return;
    const hop = g.delegation?.[0];
    const scope = (g.credential?.scope ?? []).join(' ') || 'no scopes';
    const verb = i === 1 ? 'asked' : 'delegated to';
    lines.push(
      i === 1
        ? `${shortName(hop?.from)} ${verb} ${shortName(hop?.to)} with ${scope} (${g.credential?.jti})`
        : `${shortName(hop?.from)} delegated ${scope} to ${shortName(hop?.to)} (${g.credential?.jti})`,
    );
  });
  const d = chain.decision?.policy ?? action.policy;
  if (d) {
    const by = d.determining && d.determining.length > 0 ? d.determining.join(', ') : 'no policy';
    lines.push(
      `${d.engine} policy-set ${d.policy_set ?? '(unknown)'} ${d.decision === 'allow' ? 'allowed' : 'denied'} it by ${by} (decision ${d.decision_id}${chain.decision ? '' : ', claimed by the action: the decision point never recorded it'})`,
    );
  }
  const status = action.outcome?.status ?? 'no outcome recorded';
  lines.push(
    `${shortName(action.actor?.id)} called ${action.action?.name ?? action.type} on ${action.action?.resource ?? '(no resource)'} at ${action.time} → ${status}`,
  );
  for (const r of chain.revocations)
    lines.push(`credential ${r.credential?.jti} revoked at ${r.time}`);
  for (const r of chain.remediations) lines.push(remediationLine(r));
  for (const a of chain.alerts) lines.push(`security alert ${a.action?.name} at ${a.time}`);
  return lines;
}

/** One remediation as a sentence: what changed, and when. */
function remediationLine(r: EventRecord): string {
  const targets = (r.remediation?.remediates ?? []).map((t) => shortName(t.id)).join(', ');
  switch (r.remediation?.cause) {
    case 'principal_disabled':
      return `${targets} disabled at ${r.time} (remediation)`;
    case 'key_retired':
      return `issuer key ${targets} retired at once at ${r.time} (remediation: its credentials refused)`;
    case 'policy_changed':
      return `policy set ${targets} replaced at ${r.time} (remediation: its decisions superseded)`;
    default:
      return `${r.type} at ${r.time} (remediation)`;
  }
}
