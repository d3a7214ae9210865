import { readFileSync } from 'node:fs';
import { MemoryPrincipalDirectory, parsePrincipal } from '@provenant/identity';
import type { VerifiedCredential } from '@provenant/identity';
import {
  CedarEngine,
  DecisionPoint,
  EMPTY_POLICY_SET_DIGEST,
  readPolicyFolder,
} from '@provenant/policy';
import type { ActionInput } from '@provenant/policy';
import { parseFlags, serverUrl } from '../lib/args.js';
import { EXIT, usageError } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import { readCredential } from '../lib/credential.js';
import type { CommandContext } from '../main.js';

interface Explanation {
  recorded: Answer & {
    decision_id: string;
    engine: string;
    engine_version: string;
    policy_set: string;
    time: number;
    request: { principal: { id: string }; action: { id: string }; resource: { id: string } };
  };
  replayed: Answer;
  current: {
    policySet: string;
    decision: Answer;
    drift: string | null;
  } | null;
}

interface Answer {
  decision: string;
  determining: string[];
  /** Why the decision point answered as it did (recorded decisions only). */
  reason?: string;
  errors?: string[];
}

/**
 * A decision in words, with the reason the record gives: a set that was not loaded
 * (`no_policy_set`) is said as such, never as "no policy matched".
 */
function by(d: Answer, policySet?: string): string {
  const verdict = d.decision.toUpperCase();
  if (d.determining.length > 0) return `${verdict} by ${d.determining.join(', ')}`;
  const first = d.errors?.[0] !== undefined ? `: ${d.errors[0]}` : '';
  const reason = d.reason ?? (policySet === EMPTY_POLICY_SET_DIGEST ? 'no_policy_set' : undefined);
  switch (reason) {
    case 'no_policy_set':
      return `${verdict}: no policy set was loaded (no_policy_set)`;
    case 'engine_error':
      return `${verdict}: the policy engine could not evaluate it (engine_error${first})`;
    case 'resource_outside_catalog':
      return `${verdict}: the resource is outside the action catalog (resource_outside_catalog${first})`;
    case 'fail_open':
      return `${verdict}: let through without a decision (fail_open${first})`;
    default:
      return d.decision === 'deny'
        ? `${verdict}: no policy permits it (default deny)`
        : `${verdict} (no determining policy)`;
  }
}

export async function explainDecision(
  args: readonly string[],
  ctx: CommandContext,
): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    server: { type: 'string' },
    token: { type: 'string' },
    data: { type: 'string' },
    json: { type: 'boolean' },
  });
  const id = positionals[0];
  if (!id) throw usageError('explain-decision needs a decision id.');
  const base = serverUrl(values.server, ctx.env);
  const token = readCredential(base, values.token, values.data, ctx.env);
  const e = (await (
    await httpGet(`${base}/v1/decisions/${encodeURIComponent(id)}`, token)
  ).json()) as Explanation;
  const same =
    e.replayed.decision === e.recorded.decision &&
    JSON.stringify([...e.replayed.determining].sort()) ===
      JSON.stringify([...e.recorded.determining].sort());
  if (values.json) {
    ctx.out(`${JSON.stringify({ ...e, replay_matches: same }, null, 2)}\n`);
    return same ? EXIT.ok : EXIT.verificationFailed;
  }
  const r = e.recorded;
  ctx.out(
    `Decision ${r.decision_id} at ${new Date(r.time).toISOString()}: ${by(r, r.policy_set)}\n` +
      `  ${r.request.principal.id} → ${r.request.action.id} on ${r.request.resource.id}\n` +
      `  engine ${r.engine} ${r.engine_version}, policy set ${r.policy_set}\n` +
      `  replay on the recorded set: ${by(e.replayed, r.policy_set)} — ${same ? 'same answer' : 'DIFFERENT from the record'}\n` +
      (e.current
        ? `  current set ${e.current.policySet}: ${by(e.current.decision)}${e.current.drift ? ` — ${e.current.drift}` : ' — no drift'}\n`
        : '  no current policy set loaded\n'),
  );
  return same ? EXIT.ok : EXIT.verificationFailed;
}

export async function policy(args: readonly string[], ctx: CommandContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'test') throw usageError('Use policy test.');
  const { values } = parseFlags(rest, {
    policies: { type: 'string' },
    request: { type: 'string' },
    expect: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (!values.policies || !values.request)
    throw usageError('policy test needs --policies DIR and --request FILE.');
  if (values.expect !== undefined && values.expect !== 'allow' && values.expect !== 'deny') {
    throw usageError('--expect must be allow or deny.');
  }
  let req: Record<string, unknown>;
  try {
    req = JSON.parse(readFileSync(values.request, 'utf8')) as Record<string, unknown>;
  } catch {
    throw usageError(`Cannot read ${values.request} as JSON.`);
  }
  const initiator = req['initiator'];
  const actors = req['actors'] ?? [];
  const scope = req['scope'] ?? [];
  const action = req['action'] as ActionInput | undefined;
  if (typeof initiator !== 'string' || !Array.isArray(actors) || !Array.isArray(scope) || !action) {
    throw usageError('The request needs "initiator", "actors", "scope" and "action".');
  }
  const directory = new MemoryPrincipalDirectory();
  for (const p of (req['principals'] ?? []) as unknown[]) {
    try {
      directory.put(parsePrincipal({ shared: false, disabled: false, ...(p as object) }));
    } catch (e) {
      throw usageError(`A principal in the request is malformed: ${(e as Error).message}`);
    }
  }
  const now = Date.now();
  const chain = [initiator, ...[...(actors as string[])].reverse()];
  // A stand-in for a verified credential: `policy test` checks policies, not tokens.
  const credential = {
    tokenDigest: 'policy-test',
    claims: {
      iss: 'policy-test',
      sub: initiator,
      aud: 'provenant',
      iat: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + 300,
      jti: 'policy-test',
      scope: (scope as string[]).join(' '),
    },
    subject: initiator,
    actors: actors as string[],
    chain,
    scope: scope as string[],
    jti: 'policy-test',
    iat: Math.floor(now / 1000),
    exp: Math.floor(now / 1000) + 300,
    ancestors: [],
  } as unknown as VerifiedCredential;
  const point = new DecisionPoint({ engine: new CedarEngine() });
  await point.load(readPolicyFolder(values.policies));
  const taskId = req['task_id'];
  const decision = await point.decide(
    credential,
    typeof taskId === 'string' ? { ...action, taskId } : action,
    directory,
  );
  if (values.json) ctx.out(`${JSON.stringify(decision, null, 2)}\n`);
  else {
    ctx.out(`${by(decision)}  (policy set ${decision.policy_set})\n`);
    for (const err of decision.errors) ctx.out(`  error: ${err}\n`);
  }
  return values.expect === undefined || values.expect === decision.decision
    ? EXIT.ok
    : EXIT.verificationFailed;
}
