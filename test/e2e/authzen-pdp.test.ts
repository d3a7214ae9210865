// Two real collector processes: B is an AuthZEN PDP (its facade over Cedar and the example
// policies), A delegates every decision to it (`--authzen-pdp`). A PEP asks A's own facade; A's
// `authzen` engine asks B; both record the decision, and the records name each other.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '@provenant/core';
import { toAuthzen } from '@provenant/policy';
import type { DecisionRequest } from '@provenant/policy';
import { afterAll, describe, expect, it } from 'vitest';
import { POLICIES, devLogin } from '../support/collector.js';
import { startCollectorProcess, stopChildren } from './process.js';
import type { CollectorProcess } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-authzen-'));
const started: CollectorProcess[] = [];
afterAll(async () => {
  await stopChildren(started.map((c) => c.child));
  rmSync(root, { recursive: true, force: true });
});

interface Rec {
  type: string;
  policy: Record<string, unknown> & { authzen?: Record<string, string>; decision_id: string };
  action: { name: string };
}

async function records(c: CollectorProcess): Promise<Rec[]> {
  const res = await fetch(`${c.url}/v1/events?type=policy.decision&limit=100`, {
    headers: c.admin,
  });
  return ((await res.json()) as { events: Rec[] }).events;
}

function evaluate(c: CollectorProcess, token: string, name: string, requestId: string) {
  return fetch(`${c.url}/access/v1/evaluation`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'x-request-id': requestId,
    },
    body: JSON.stringify({
      subject: { type: 'user', id: 'alice' },
      action: { name },
      resource: { type: 'repo', id: 'acme/payments' },
    }),
  });
}

describe('the authzen engine between two collector processes', () => {
  it("decides through the other collector's facade, records which PDP decided, and fails closed when it is gone", async () => {
    const dirB = join(root, 'pdp');
    const b = await startCollectorProcess(dirB, ['--policies', POLICIES]);
    started.push(b);
    const a = await startCollectorProcess(join(root, 'pep'), [
      '--dev-login',
      '--authzen-pdp',
      b.url,
      '--authzen-pdp-token-file',
      join(dirB, 'admin.token'),
    ]);
    started.push(a);
    expect(a.stdout()).toContain(`policies: decided by the AuthZEN PDP ${b.url}`);
    const registered = await fetch(`${a.url}/v1/principals`, {
      method: 'POST',
      headers: { ...a.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'user:alice', kind: 'human', shared: false, disabled: false }),
    });
    expect(registered.status).toBe(201);
    const alice = await devLogin(a.url, 'alice', 'repo:read');

    const read = await evaluate(a, alice, 'github.get_file', 'pep-1');
    expect(read.status).toBe(200);
    expect(read.headers.get('x-request-id')).toBe('pep-1');
    const readAnswer = (await read.json()) as {
      decision: boolean;
      context: { decision_id: string };
    };
    expect(readAnswer.decision).toBe(true);

    // A's record: its engine is authzen, and it names B, the request id sent and the digest.
    const [atA] = await records(a);
    expect(atA!.policy).toMatchObject({
      decision_id: readAnswer.context.decision_id,
      engine: 'authzen',
      decision: 'allow',
      determining: ['permit-human-delegated-reads'],
      authzen: { request_id: 'pep-1', subject: 'credential', pdp: b.url },
    });
    const sentId = atA!.policy.authzen!['pdp_request_id']!;
    // B's record of the same decision: decided by Cedar for a trusted PEP, under A's request id.
    const [atB] = await records(b);
    expect(atB!.policy).toMatchObject({
      engine: 'cedar',
      decision: 'allow',
      authzen: { request_id: sentId, subject: 'pep' },
    });
    // The exchange digest A recorded is that of the request it sent and B's answer.
    const replay = await fetch(`${a.url}/v1/decisions/${readAnswer.context.decision_id}`, {
      headers: a.admin,
    });
    const recorded = ((await replay.json()) as { recorded: { request: DecisionRequest } }).recorded;
    const answerOfB = {
      decision: true,
      context: {
        decision_id: atB!.policy.decision_id,
        policy_set: atB!.policy['policy_set'],
        determining: atB!.policy['determining'],
        reason: 'policy',
      },
    };
    expect(atA!.policy.authzen!['exchange_digest']).toBe(
      digestOf({ request: toAuthzen(recorded.request), response: answerOfB } as never),
    );

    // A delete that no policy permits at B is denied at A, as policy.
    const del = await evaluate(a, alice, 'github.delete_repo', 'pep-2');
    expect(((await del.json()) as { decision: boolean }).decision).toBe(false);
    const deleted = (await records(a)).find((r) => r.action.name === 'github.delete_repo')!;
    expect(deleted.policy).toMatchObject({ decision: 'deny', reason: 'policy' });

    // B stops: A fails closed, and says why.
    await stopChildren([b.child]);
    const gone = await evaluate(a, alice, 'github.get_file', 'pep-3');
    expect(gone.status).toBe(200);
    expect(((await gone.json()) as { decision: boolean }).decision).toBe(false);
    const failed = (await records(a)).find((r) => r.policy.authzen?.['request_id'] === 'pep-3')!;
    expect(failed.policy).toMatchObject({ decision: 'deny', reason: 'engine_error' });
    expect(String(failed.policy['errors'])).toMatch(/unreachable/);
  });
});
