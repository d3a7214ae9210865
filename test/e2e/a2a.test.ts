// A2A across processes: the example pair (examples/a2a) as two real agent processes, each with
// its own identity, talking the official @a2a-js/sdk's JSON-RPC binding to each other and to a
// real collector. The planner addresses its credential to the researcher; the researcher's tool
// call is verified with the chain alice → planner → researcher, and provenance shows the hop. A
// request without a credential, or with one addressed to another agent, is refused in A2A's
// error form and recorded.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Role } from '@a2a-js/sdk';
import type { CallInterceptor } from '@a2a-js/sdk/client';
import { ClientFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';
import { createRecorder } from '@provenant/sdk';
import { a2aCredential } from '@provenant/sdk/a2a';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_HEADERS, makeIdentity, register, testCollector } from '../support/collector.js';
import { PLANNER, RESEARCHER, TD, events, scenario, tempDir } from '../support/sdk.js';
import type { Scenario, Stored } from '../support/sdk.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/a2a/', import.meta.url));
const SUMMARIZER = `spiffe://${TD}/agent/summarizer/instance/5b1e`;

interface Asked {
  ok: boolean;
  text?: string;
  error?: string;
  code?: string;
}
interface PlannerRun {
  traceId: string;
  taskId: string;
  delegated: Asked;
  noCredential: Asked;
  wrongAudience: Asked;
}

const tmp = tempDir('a2a');
let c: RunningCollector;
let s: Scenario;
let researcher: ChildProcess;
let researcherUrl: string;
let plannerPid: number | undefined;
let run: PlannerRun;

const keyFile = (name: string, identity: unknown) => {
  const file = join(tmp.dir, `${name}.key.json`);
  writeFileSync(file, JSON.stringify(identity), { mode: 0o600 });
  return file;
};

/** Runs a script of the example as its own process; resolves with its stdout once it exits. */
function runPlanner(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(EXAMPLE, 'planner.js')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    plannerPid = child.pid;
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`planner exited ${code}: ${err}`)),
    );
  });
}

beforeAll(async () => {
  c = await testCollector(tmp.dir);
  s = await scenario(c.url);
  const summarizer = await makeIdentity(SUMMARIZER);
  await register(c.url, {
    id: SUMMARIZER,
    kind: 'agent_instance',
    agent: 'summarizer',
    publicJwks: [summarizer.publicJwk],
  });
  researcher = spawn(process.execPath, [join(EXAMPLE, 'researcher.js')], {
    env: {
      ...process.env,
      PROVENANT_URL: c.url,
      IDENTITY_FILE: keyFile('researcher', s.researcher),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  researcherUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    researcher.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    researcher.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    researcher.once('exit', (code) => reject(new Error(`researcher exited ${code}: ${err}`)));
  });
  const out = await runPlanner({
    PROVENANT_URL: c.url,
    IDENTITY_FILE: keyFile('planner', s.planner),
    PROVENANT_INITIATOR_TOKEN: s.alice,
    RESEARCHER_URL: researcherUrl,
    RESEARCHER_ID: RESEARCHER,
    OTHER_AGENT_ID: SUMMARIZER,
  });
  run = JSON.parse(out.trim().split('\n').at(-1)!) as PlannerRun;
}, 120_000);

afterAll(async () => {
  if (researcher && researcher.exitCode === null) {
    const exited = new Promise((resolve) => researcher.once('exit', resolve));
    researcher.kill('SIGTERM');
    await exited;
  }
  await c?.close();
  tmp.remove();
});

/** The researcher's refusals: denied agent.invoked records under its own credential. */
async function refusals(): Promise<Stored[]> {
  const all = await events(c.url, { type: 'agent.invoked', actor: RESEARCHER });
  return all.filter((r) => r.outcome?.status === 'denied');
}

describe('A2A between two agent processes', () => {
  it("verifies the remote agent's tool call with the chain human → planner → researcher", async () => {
    expect(plannerPid).toBeDefined();
    expect(plannerPid).not.toBe(researcher.pid);
    expect(run.delegated).toMatchObject({ ok: true });
    expect(run.delegated.text).toContain('acme/payments');
    const trace = await events(c.url, { trace_id: run.traceId });
    const tool = trace.find((r) => r.type === 'tool.called' && r.actor?.id === RESEARCHER);
    expect(tool).toMatchObject({
      initiator: { id: 'user:alice' },
      action: { name: 'github.get_file', resource: 'repo:acme/payments' },
      outcome: { status: 'success' },
      attribution: { level: 'verified' },
    });
    expect(tool!.delegation!.map((h) => [h.from, h.to])).toEqual([
      ['user:alice', PLANNER],
      [PLANNER, RESEARCHER],
    ]);
    // The researcher's invocation is a delegation in the planner's trace.
    const invoked = trace.find(
      (r) =>
        r.type === 'agent.invoked' && r.actor?.id === RESEARCHER && r.outcome?.status === 'success',
    );
    expect(invoked).toMatchObject({
      cause: { kind: 'delegation' },
      attribution: { level: 'verified' },
    });
    expect(trace.some((r) => r.type === 'agent.invoked' && r.actor?.id === PLANNER)).toBe(true);
  });

  it('shows the cross-process hop in provenance: the credential addressed to the researcher', async () => {
    const trace = await events(c.url, { trace_id: run.traceId });
    const tool = trace.find((r) => r.type === 'tool.called' && r.actor?.id === RESEARCHER)!;
    const res = await fetch(`${c.url}/v1/events/${tool.id}/provenance`, { headers: ADMIN_HEADERS });
    const p = (await res.json()) as {
      ok: boolean;
      narrative: string[];
      checks: { id: string; ok: boolean }[];
      evidence: { entries: { role: string; record: Stored }[] };
    };
    expect(p.ok).toBe(true);
    expect(p.narrative.join('\n')).toMatch(
      /planner\/19c2 sent researcher\/7f3a a credential for it alone \(.+; audience spiffe:\/\/acme\.test\/agent\/researcher\/instance\/7f3a http:\/\/127\.0\.0\.1:\d+\/a2a\)/,
    );
    expect(p.checks.find((k) => k.id.startsWith('addressed:'))).toMatchObject({ ok: true });
    const addressed = p.evidence.entries.find((r) => r.record.credential?.aud !== undefined)!;
    expect(addressed.role).toBe('credential');
    expect(addressed.record).toMatchObject({
      type: 'credential.issued',
      credential: { aud: [RESEARCHER, `${researcherUrl}/a2a`] },
      delegation: [{ from: PLANNER, to: RESEARCHER }],
    });
  });

  it("refuses a request without a credential in A2A's error form, and records it", async () => {
    expect(run.noCredential).toMatchObject({ ok: false, code: 'credential_required' });
    const res = await fetch(`${researcherUrl}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toMatchObject({
      jsonrpc: '2.0',
      error: {
        code: -32000,
        data: [{ reason: 'CREDENTIAL_REQUIRED', metadata: { code: 'credential_required' } }],
      },
    });
    const recorded = (await refusals()).filter(
      (r) => r.outcome?.error?.code === 'credential_required',
    );
    expect(recorded.length).toBeGreaterThanOrEqual(2);
    expect(recorded[0]).toMatchObject({
      actor: { id: RESEARCHER },
      action: { name: 'agent.invoke', args: { 'a2a.refused': 'credential_required' } },
      attribution: { level: 'verified' },
    });
  });

  it('refuses a credential addressed to another agent, and records who presented it', async () => {
    expect(run.wrongAudience).toMatchObject({ ok: false, code: 'wrong_audience' });
    const [recorded] = (await refusals()).filter(
      (r) => r.outcome?.error?.code === 'wrong_audience',
    );
    expect(recorded).toMatchObject({
      actor: { id: RESEARCHER },
      attribution: { level: 'verified' },
      action: {
        args: {
          'presented.sub': 'user:alice',
          'presented.actor': PLANNER,
          'presented.aud': [SUMMARIZER, `${researcherUrl}/a2a`],
        },
      },
      trace: { trace_id: run.traceId },
    });
    // alice's own credential is for the collector, not for this agent: refused the same way.
    const res = await fetch(`${researcherUrl}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.alice}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'SendMessage', params: {} }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(
      ((await res.json()) as { error: { data: { reason: string }[] } }).error.data[0]!.reason,
    ).toBe('WRONG_AUDIENCE');
  });

  it('refuses a tampered credential: its signature does not verify', async () => {
    const { addressed } = await addressedByPlanner();
    const [h, p, sig] = addressed.split('.');
    const flipped = `${sig!.slice(0, -4)}${sig!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const res = await fetch(`${researcherUrl}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h}.${p}.${flipped}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'SendMessage', params: {} }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { data: { reason: string }[] } };
    expect(body.error.data[0]!.reason).toBe('BAD_SIGNATURE');
  });

  it('refuses to act on a delegation revoked after it was sent, and records it', async () => {
    const { addressed, plannerToken } = await addressedByPlanner();
    // The planner's credential is revoked: everything exchanged from it goes with it.
    const revoked = await fetch(`${c.url}/v1/token/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: plannerToken }).toString(),
    });
    expect(revoked.status).toBe(200);
    const fixed: CallInterceptor = {
      async before(args) {
        args.options = {
          ...args.options,
          serviceParameters: {
            ...args.options?.serviceParameters,
            authorization: `Bearer ${addressed}`,
          },
        };
      },
      async after() {},
    };
    const client = await new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        clientConfig: { interceptors: [fixed] },
      }),
    ).createFromUrl(researcherUrl);
    const before = (await events(c.url, { type: 'tool.called', actor: RESEARCHER })).length;
    const answer = await client.sendMessage({
      tenant: '',
      message: {
        messageId: randomUUID(),
        contextId: '',
        taskId: '',
        role: Role.ROLE_USER,
        parts: [{ content: { $case: 'text', value: 'read it anyway' }, metadata: undefined }],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      },
      configuration: undefined,
      metadata: undefined,
    });
    const text = ('parts' in answer ? answer.parts : [])
      .map((x) => (x.content?.$case === 'text' ? x.content.value : ''))
      .join('');
    expect(text).toMatch(/^failed: /);
    expect((await events(c.url, { type: 'tool.called', actor: RESEARCHER })).length).toBe(before);
    const recorded = (await refusals()).find(
      (r) => r.outcome?.error?.code === 'delegation_refused',
    );
    expect(recorded).toMatchObject({
      actor: { id: RESEARCHER },
      attribution: { level: 'verified' },
      action: { args: { 'presented.actor': PLANNER, 'presented.sub': 'user:alice' } },
    });
  });
});

/** The test acting as the planner: its credential, and one addressed to the researcher. */
async function addressedByPlanner(): Promise<{ addressed: string; plannerToken: string }> {
  const recorder = createRecorder({ collectorUrl: c.url, identity: s.planner, spool: false });
  try {
    const session = await recorder.session({ initiatorToken: s.alice });
    const addressed = await session.run(() =>
      a2aCredential(recorder, { collectorUrl: c.url, audience: RESEARCHER, scope: ['repo:read'] }),
    );
    await recorder.drain(5000);
    return { addressed, plannerToken: session.context.credential.token };
  } finally {
    await recorder.close();
  }
}
