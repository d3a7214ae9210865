import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { digestOf } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import { createRecorder, remotePdp } from '@provenant/sdk';
import type { Pdp, Recorder } from '@provenant/sdk';
import { InMemoryRecordExporter, memoryDecisions } from '@provenant/sdk/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WIRE_ERROR, createPolicyGate, parseConfig } from '../src/index.js';
import type { PolicyGateOptions } from '../src/index.js';
import { PROXY, memoryWorld, rig } from './helpers.js';
import type { ProxyWorld, Rig } from './helpers.js';

/** The recorded result digest, computed independently: the result's JSON text, digested. */
const resultDigestOf = (result: unknown) => {
  const text = JSON.stringify(result);
  const sha256 = createHash('sha256').update(text).digest('hex');
  return digestOf({ bytes: Buffer.byteLength(text), sha256 });
};

const CONFIG = parseConfig({
  server: 'github-mcp',
  tools: {
    read_file: { action: 'github.get_file', resource: 'repo:{repo}' },
    delete_repo: { action: 'github.delete_repo', resource: 'repo:{repo}' },
    fail: { action: 'github.search_code', resource: 'repo:acme/payments' },
    boom: { action: 'github.list_issues', resource: 'repo:acme/payments' },
    slow: { action: 'github.get_file', resource: 'repo:acme/slow' },
    crash: { action: 'github.get_file', resource: 'repo:acme/crash' },
    echo_meta: { action: 'github.get_file', resource: 'repo:acme/meta' },
  },
  resources: { action: 'github.get_file', resource: 'repo:acme/docs' },
  prompts: { action: 'github.get_file', resource: 'repo:acme/prompts' },
});

/** A port nothing listens on: bound, then closed. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

let who: ProxyWorld;
let recorder: Recorder;
const rigs: Rig[] = [];

beforeAll(async () => {
  who = await memoryWorld();
  recorder = who.recorder();
});

afterAll(async () => {
  for (const r of rigs) await r.close();
  await recorder.close();
});

async function through(token: string, extra: Partial<PolicyGateOptions> = {}): Promise<Rig> {
  const r = await rig(
    createPolicyGate({ recorder, config: CONFIG, initiatorToken: token, ...extra }),
  );
  rigs.push(r);
  return r;
}

/** The trace the proxy sends calls in: what the server saw as _meta.traceparent. */
async function traceOf(r: Rig): Promise<string> {
  const res = await r.client.callTool({ name: 'echo_meta', arguments: {} });
  const meta = JSON.parse((res.content as { text: string }[])[0]!.text) as { traceparent: string };
  return meta.traceparent.split('-')[1]!;
}

async function toolRecords(traceId: string, tool: string): Promise<EventRecord[]> {
  expect(await recorder.drain(5_000)).toBe(true);
  return who
    .toolCalls()
    .filter((e) => e.trace?.trace_id === traceId && e.action?.tool?.name === tool);
}

/** The final record of a call (an unannotated tool is presumed destructive: intent first). */
async function outcomeOf(traceId: string, tool: string): Promise<EventRecord> {
  const recs = await toolRecords(traceId, tool);
  return recs[recs.length - 1]!;
}

/**
 * The final record of a call once it exists: a cancelled call's outcome is recorded after the
 * client stopped waiting, so until then the last record may be its intent (`pending`).
 */
async function settledOutcomeOf(traceId: string, tool: string): Promise<EventRecord> {
  for (;;) {
    const rec = await outcomeOf(traceId, tool);
    if (rec !== undefined && rec.outcome?.status !== 'pending') return rec;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('policy gate', () => {
  it('allows a read: forwards it unchanged and records an attributed, decided, digested call', async () => {
    const r = await through(who.alice);
    await r.client.listTools();
    const res = await r.client.callTool({
      name: 'read_file',
      arguments: { repo: 'acme/payments', path: 'README.md' },
    });
    expect(res).toEqual({
      content: [{ type: 'text', text: 'contents of acme/payments/README.md' }],
    });
    const trace = await traceOf(r);
    const [rec, ...rest] = await toolRecords(trace, 'read_file');
    expect(rest).toEqual([]);
    expect(rec).toMatchObject({
      type: 'tool.called',
      initiator: { id: 'user:alice', kind: 'human' },
      actor: { id: PROXY, kind: 'agent_instance' },
      action: {
        name: 'github.get_file',
        resource: 'repo:acme/payments',
        tool: { server: 'github-mcp', name: 'read_file' },
        class: { privileged: false, irreversible: false, external: false },
        risk: 'low',
        args_digest: digestOf({ repo: 'acme/payments', path: 'README.md' }),
      },
      policy: { decision: 'allow', engine: 'memory' },
      outcome: { status: 'success', result_digest: resultDigestOf(res) },
    });
    expect(rec!.outcome!.duration_ms).toBeGreaterThanOrEqual(0);
    const decisions = who.decisions.made.map((d) => d.decision.decisionId);
    expect(decisions).toContain(rec!.policy!.decision_id);
  });

  it('records intent and outcome of a destructive call in one trace (fail closed)', async () => {
    const r = await through(who.alice);
    await r.client.listTools();
    const res = await r.client.callTool({ name: 'delete_repo', arguments: { repo: 'acme/old' } });
    expect(res.content).toEqual([{ type: 'text', text: 'deleted acme/old' }]);
    const recs = await toolRecords(await traceOf(r), 'delete_repo');
    expect(recs.map((e) => e.outcome?.status)).toEqual(['pending', 'success']);
    expect(recs[0]!.action?.class).toEqual({
      privileged: false,
      irreversible: true,
      external: false,
    });
    expect(recs[1]!.cause).toEqual({ kind: 'agent_decision', record_id: recs[0]!.id });
    expect(recs[1]!.policy!.decision_id).toBe(recs[0]!.policy!.decision_id);
  });

  it('refuses a denied call with a JSON-RPC error naming the decision, and records it', async () => {
    const r = await through(who.bob);
    await r.client.listTools();
    const err = await r.client
      .callTool({ name: 'delete_repo', arguments: { repo: 'acme/payments' } })
      .then(
        () => {
          throw new Error('delete_repo was not refused');
        },
        (e: unknown) => e as { code: number; message: string; data: { decision_id: string } },
      );
    expect(err).toMatchObject({ code: WIRE_ERROR.policy_denied });
    const decisionId = err.data.decision_id;
    expect(err.message).toContain(`Denied by policy: github.delete_repo on repo:acme/payments`);
    expect(err.message).toContain('no policy permits it (default deny)');
    expect(err.message).toContain(decisionId);
    const [rec] = await toolRecords(await traceOf(r), 'delete_repo');
    expect(rec).toMatchObject({
      initiator: { id: 'user:bob' },
      policy: { decision: 'deny', decision_id: decisionId },
      outcome: { status: 'denied', error: { code: 'policy_denied' } },
    });
  });

  it('relays a tool error (isError) unchanged and records an error outcome', async () => {
    const r = await through(who.alice);
    const res = await r.client.callTool({ name: 'fail', arguments: {} });
    expect(res).toEqual({ content: [{ type: 'text', text: 'the tool failed' }], isError: true });
    const rec = await outcomeOf(await traceOf(r), 'fail');
    expect(rec!.outcome).toMatchObject({
      status: 'error',
      error: { code: 'tool_error', message: 'The tool returned isError.' },
      result_digest: resultDigestOf(res),
    });
  });

  it('relays a JSON-RPC error from the server unchanged and records an error outcome', async () => {
    const r = await through(who.alice);
    await expect(r.client.callTool({ name: 'boom', arguments: {} })).rejects.toMatchObject({
      code: -32602,
    });
    const rec = await outcomeOf(await traceOf(r), 'boom');
    expect(rec!.outcome).toMatchObject({ status: 'error', error: { code: 'upstream_error' } });
  });

  it('keeps the client traceparent and records the call in the client trace', async () => {
    const r = await through(who.alice);
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await r.client.callTool({
      name: 'echo_meta',
      arguments: {},
      _meta: { traceparent: tp },
    });
    expect(JSON.parse((res.content as { text: string }[])[0]!.text)).toEqual({ traceparent: tp });
    const [rec] = await toolRecords('0af7651916cd43dd8448eb211c80319c', 'echo_meta');
    expect(rec!.trace).toMatchObject({ trace_id: '0af7651916cd43dd8448eb211c80319c' });
  });

  it('decides and records resources/read and prompts/get', async () => {
    const r = await through(who.alice);
    await r.client.readResource({ uri: 'file:///readme.md' });
    await r.client.getPrompt({ name: 'greet', arguments: { who: 'alice' } });
    const trace = await traceOf(r);
    const [res] = await toolRecords(trace, 'file:///readme.md');
    const [prompt] = await toolRecords(trace, 'greet');
    expect(res!.action).toMatchObject({ resource: 'repo:acme/docs' });
    expect(prompt!.outcome?.status).toBe('success');
  });

  it('refuses a tool the policy schema does not know (default action name)', async () => {
    const r = await through(who.alice);
    await expect(r.client.callTool({ name: 'list_roots', arguments: {} })).rejects.toMatchObject({
      code: WIRE_ERROR.policy_denied,
      message: expect.stringContaining('github-mcp.list_roots on mcp:github-mcp/list_roots'),
    });
  });

  it('records a cancelled call as an error and sends nothing more', async () => {
    const r = await through(who.alice);
    const ac = new AbortController();
    // Cancelled once the server has the call (its first progress), not after a guessed delay.
    const call = r.client.callTool(
      { name: 'slow', arguments: { ms: 5_000 } },
      CallToolResultSchema,
      { signal: ac.signal, onprogress: () => ac.abort('stop') },
    );
    await expect(call).rejects.toThrow(/stop|abort/i);
    const rec = await settledOutcomeOf(await traceOf(r), 'slow');
    expect(rec.outcome).toMatchObject({ status: 'error', error: { code: 'call_cancelled' } });
  });

  it('never forwards a call cancelled before its decision, records it cancelled, answers nothing', async () => {
    // The decision is held until the client has cancelled: the cancellation arrives first.
    let asked!: () => void;
    const askedFor = new Promise<void>((resolve) => (asked = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held: Pdp = {
      decide: async (request) => {
        asked();
        await released;
        return who.decisions.decide(request);
      },
    };
    const heldRecorder = who.recorder({ pdp: held });
    const r = await rig(
      createPolicyGate({ recorder: heldRecorder, config: CONFIG, initiatorToken: who.alice }),
    );
    rigs.push(r);
    const answers: unknown[] = [];
    r.rawClientSide.onmessage = (m) => void answers.push(m);
    const meta = { traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01` };
    await r.rawClientSide.send({
      jsonrpc: '2.0',
      id: 'early-1',
      method: 'tools/call',
      params: { name: 'read_file', arguments: { repo: 'acme/payments', path: 'x' }, _meta: meta },
    });
    await askedFor;
    await r.rawClientSide.send({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 'early-1', reason: 'changed my mind' },
    });
    release();
    // The outcome is recorded once the decision comes back; wait for it, not for a time.
    const cancelled = await vi.waitFor(
      async () => {
        await heldRecorder.flush();
        const recs = who
          .toolCalls()
          .filter(
            (e) => e.trace?.trace_id === 'c'.repeat(32) && e.action?.tool?.name === 'read_file',
          );
        expect(recs.at(-1)?.outcome?.status).toBe('error');
        return recs.at(-1)!;
      },
      { timeout: 10_000 },
    );
    expect(cancelled.outcome).toMatchObject({
      error: {
        code: 'call_cancelled',
        message: expect.stringContaining('before it was forwarded'),
      },
    });
    // A later call on the same relay is answered: the cancelled one never was, nor forwarded.
    await r.rawClientSide.send({ jsonrpc: '2.0', id: 'later', method: 'tools/list' });
    await vi.waitFor(
      () => expect(answers.some((a) => (a as { id?: unknown }).id === 'later')).toBe(true),
      { timeout: 10_000 },
    );
    expect(answers.filter((a) => (a as { id?: unknown }).id === 'early-1')).toEqual([]);
    const sawEarly = r.serverSaw.filter((m) => {
      const x = m as { id?: unknown; params?: { requestId?: unknown } };
      return x.id === 'early-1' || x.params?.requestId === 'early-1';
    });
    expect(sawEarly).toEqual([]);
    await heldRecorder.close();
  });

  it('filters tools/list to what policy allows, with the flag', async () => {
    const bob = await through(who.bob, { filterTools: true, pdp: who.decisions });
    const names = (await bob.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('read_file');
    expect(names).not.toContain('delete_repo');
    expect(names).not.toContain('ask_model');
    const alice = await through(who.alice);
    expect((await alice.client.listTools()).tools.map((t) => t.name)).toContain('ask_model');
  });

  it('reports the server going away to the client and records an error outcome', async () => {
    const r = await through(who.alice);
    const trace = await traceOf(r);
    await expect(r.client.callTool({ name: 'crash', arguments: {} })).rejects.toMatchObject({
      code: WIRE_ERROR.upstream_closed,
    });
    const rec = await outcomeOf(trace, 'crash');
    expect(rec!.outcome).toMatchObject({
      status: 'error',
      error: { code: 'UpstreamClosedError' },
    });
  });
});

describe('policy gate, decision point and ledger trouble', () => {
  it('refuses a call when no decision can be had', async () => {
    const rec = who.recorder({
      pdp: {
        decide: () => {
          throw new Error('decision point down');
        },
      },
    });
    const r = await rig(
      createPolicyGate({ recorder: rec, config: CONFIG, initiatorToken: who.alice }),
    );
    rigs.push(r);
    await expect(
      r.client.callTool({ name: 'read_file', arguments: { repo: 'acme/payments', path: 'x' } }),
    ).rejects.toMatchObject({ code: WIRE_ERROR.decision_unavailable });
    await rec.close();
  });

  it('says the collector is unreachable when the decision point cannot be reached', async () => {
    // A real fetch to a closed port: one the system just handed out and took back.
    const port = await closedPort();
    const rec = who.recorder({ pdp: remotePdp(`http://127.0.0.1:${port}`, fetch) });
    const r = await rig(
      createPolicyGate({ recorder: rec, config: CONFIG, initiatorToken: who.alice }),
    );
    rigs.push(r);
    const err = await r.client
      .callTool({ name: 'read_file', arguments: { repo: 'acme/payments', path: 'x' } })
      .then(
        () => ({ code: 0, message: 'not refused', data: {} }),
        (e: unknown) => e as { code: number; message: string; data: Record<string, unknown> },
      );
    expect(err.code).toBe(WIRE_ERROR.decision_unavailable);
    expect(err.message).toMatch(
      /No policy decision for github\.get_file, so the call was refused: the collector at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/,
    );
    expect(err.data).toMatchObject({
      code: 'decision_unavailable',
      reason: 'collector_unreachable',
    });
    await rec.close();
  });

  it('says the collector is unreachable when the initiator credential cannot be exchanged', async () => {
    const port = await closedPort();
    // The collector's own issuer (over HTTP) at a port nothing listens on.
    const rec = createRecorder({
      collectorUrl: `http://127.0.0.1:${port}`,
      identity: who.proxy,
      pdp: who.decisions,
      exporter: new InMemoryRecordExporter(),
    });
    const r = await rig(
      createPolicyGate({ recorder: rec, config: CONFIG, initiatorToken: who.alice }),
    );
    rigs.push(r);
    const err = await r.client
      .callTool({ name: 'read_file', arguments: { repo: 'acme/payments', path: 'x' } })
      .then(
        () => ({ code: 0, message: 'not refused', data: {} }),
        (e: unknown) => e as { code: number; message: string; data: Record<string, unknown> },
      );
    expect(err.code).toBe(WIRE_ERROR.attribution_failed);
    expect(err.message).toMatch(
      /The proxy could not attribute the request: The collector at http:\/\/127\.0\.0\.1:\d+ is unreachable: its token endpoint did not answer \(ECONNREFUSED\)/,
    );
    expect(err.data).toMatchObject({ reason: 'collector_unreachable' });
    await rec.close();
  });

  it('says which policy denied a call, or that no policy set is loaded', async () => {
    const by = (answer: { reason: string; determining: string[] }) =>
      who.recorder({ pdp: memoryDecisions(() => ({ decision: 'deny', ...answer })) });
    const cases = [
      {
        rec: by({ reason: 'policy', determining: ['forbid-deep-irreversible'] }),
        says: 'denied by forbid-deep-irreversible',
      },
      {
        rec: by({ reason: 'no_policy_set', determining: [] }),
        says: 'no policy set is loaded at the decision point (no_policy_set)',
      },
      {
        rec: by({ reason: 'engine_error', determining: [] }),
        says: 'the policy engine could not evaluate it (engine_error)',
      },
    ];
    for (const { rec, says } of cases) {
      const r = await rig(
        createPolicyGate({ recorder: rec, config: CONFIG, initiatorToken: who.alice }),
      );
      rigs.push(r);
      await expect(
        r.client.callTool({ name: 'read_file', arguments: { repo: 'acme/payments', path: 'x' } }),
      ).rejects.toMatchObject({
        code: WIRE_ERROR.policy_denied,
        message: expect.stringContaining(
          `Denied by policy: github.get_file on repo:acme/payments: ${says} (decision `,
        ),
      });
      await rec.close();
    }
  });

  it('refuses a call whose mapped action name is not one, forwarding nothing', async () => {
    const r = await rig(
      createPolicyGate({
        recorder,
        config: parseConfig({ tools: { read_file: { action: 'github.{path}' } } }),
        initiatorToken: who.alice,
      }),
    );
    rigs.push(r);
    await expect(
      r.client.callTool({ name: 'read_file', arguments: { repo: 'acme/x', path: 'a/b c' } }),
    ).rejects.toMatchObject({
      code: WIRE_ERROR.invalid_action_name,
      message: expect.stringContaining('"github.a/b c" is not an action name'),
    });
  });

  it('fails closed: a destructive call does not run when its intent cannot be made durable', async () => {
    const rec = who.recorder({
      // The issuer and decision point answer; the ledger's ingest is unreachable.
      collectorUrl: 'http://collector.invalid',
      spool: false,
      batch: { maxDelayMs: 5 },
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    const r = await rig(
      createPolicyGate({ recorder: rec, config: CONFIG, initiatorToken: who.alice }),
    );
    rigs.push(r);
    await r.client.listTools();
    await expect(
      r.client.callTool({ name: 'delete_repo', arguments: { repo: 'acme/keep' } }),
    ).rejects.toMatchObject({ code: WIRE_ERROR.intent_not_durable });
    await rec.close();
  });
});
