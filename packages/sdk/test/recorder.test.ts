import { setTimeout as sleep } from 'node:timers/promises';
import { digestOf } from '@provenant/core';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DecisionUnavailableError,
  PolicyDeniedError,
  RecorderClosedError,
  TokenExchangeError,
  parseTraceparent,
  traceHeaders,
  withMcpMeta,
} from '../src/index.js';
import type { Recorder } from '../src/index.js';
import { PLANNER, RESEARCHER, world } from './helpers.js';
import type { World } from './helpers.js';

let w: World;
let planner: Recorder;

beforeAll(async () => {
  w = await world();
  planner = w.recorder({ agent: { name: 'planner', version: '3.0.0' } });
});
afterAll(() => planner.close());

const getFile = () =>
  planner.tool(
    'github.get_file',
    { resource: (repo: string) => `repo:${repo}`, risk: 'low', server: 'github-mcp' },
    async (repo: string, path: string) => ({ repo, path, text: 'hello' }),
  );

/** The actors of a credential, root first (its RFC 8693 `act` nesting, innermost first). */
function chainOf(token: string): string[] {
  const out: string[] = [];
  let act = decodeJwt(token)['act'] as { sub: string; act?: unknown } | undefined;
  while (act) {
    out.unshift(act.sub);
    act = act.act as typeof act | undefined;
  }
  return out;
}

describe('sessions and tools', () => {
  it("sends a session's Txn-Token with its decisions and records, and its delegations'", async () => {
    const tool = getFile();
    const asked = w.decisions.made.length;
    await planner.session({ initiatorToken: w.alice, taskId: 'task-txn', txnToken: 'TXN' }, () =>
      planner.delegate(w.researcher, {}, () => tool('acme/txn', 'README.md')),
    );
    const got = w.exported('task-txn');
    expect(got.map((e) => [e.record.type, e.txnToken])).toEqual([
      ['agent.invoked', 'TXN'],
      ['agent.invoked', 'TXN'],
      ['tool.called', 'TXN'],
    ]);
    expect(w.decisions.made.slice(asked).map((d) => d.request.txnToken)).toEqual(['TXN']);
    // Another session without one sends none.
    await planner.session({ initiatorToken: w.alice, taskId: 'task-no-txn' }, () =>
      tool('acme/txn', 'README.md'),
    );
    expect(w.exported('task-no-txn').every((e) => e.txnToken === undefined)).toBe(true);
  });

  it('records a tool call with initiator, actor, decision, digests and outcome', async () => {
    const tool = getFile();
    const result = await planner.session(
      {
        initiatorToken: w.alice,
        taskId: 'task-1',
        prompt: 'read the README',
        conversationId: 'conv-1',
      },
      () => tool('acme/payments', 'README.md'),
    );
    expect(result).toEqual({ repo: 'acme/payments', path: 'README.md', text: 'hello' });
    const got = w.records('task-1');
    expect(got.map((r) => r.type)).toEqual(['prompt.received', 'agent.invoked', 'tool.called']);
    const [prompt, invoked, call] = got as [(typeof got)[0], (typeof got)[0], (typeof got)[0]];
    for (const r of got) {
      expect(r.initiator).toEqual({ id: 'user:alice', kind: 'human' });
      expect(r.actor).toMatchObject({
        id: PLANNER,
        agent: 'planner',
        version: '3.0.0',
        instance: '19c2',
      });
      expect(r.trace?.trace_id).toBe(prompt.trace?.trace_id);
      expect(r.conversation_id).toBe('conv-1');
      expect(r.source).toEqual({ producer: '@provenant/sdk@0.1.0', host: expect.any(String) });
    }
    // Sent with the credential the issuer gave the planner for alice.
    const sent = w.exported('task-1');
    const credential = sent[0]!.credential;
    expect(sent.every((e) => e.credential === credential)).toBe(true);
    expect(decodeJwt(credential).sub).toBe('user:alice');
    expect(chainOf(credential)).toEqual([PLANNER]);
    expect(JSON.stringify(prompt)).not.toContain('read the README');
    // UUIDv7 ids follow the order the records were made.
    expect(got.map((r) => r.id)).toEqual(got.map((r) => r.id).sort());
    expect(prompt.action?.args_digest).toMatch(/^sha256:/);
    expect(invoked.cause).toEqual({ kind: 'human_prompt', record_id: prompt.id });
    expect(call.cause).toEqual({ kind: 'agent_decision', record_id: invoked.id });
    expect(call.action).toMatchObject({
      name: 'github.get_file',
      resource: 'repo:acme/payments',
      tool: { server: 'github-mcp', name: 'get_file' },
      args_digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    expect(call.outcome).toMatchObject({
      status: 'success',
      result_digest: expect.stringMatching(/^sha256:/),
    });
    expect(call.outcome?.duration_ms).toBeGreaterThanOrEqual(0);
    const made = w.decisions.made.at(-1)!;
    expect(call.policy).toEqual({
      engine: 'memory',
      decision: 'allow',
      decision_id: made.decision.decisionId,
    });
    expect(made.request).toEqual({
      action: { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' },
      credential,
      taskId: 'task-1',
    });
    expect(call.trace?.parent_span_id).toBe(invoked.trace?.span_id);
    // The SDK claims no attribution: the collector decides it.
    expect(call).not.toHaveProperty('attribution');
  });

  it('keeps initiators apart across concurrent sessions', async () => {
    const seen: string[] = [];
    const tool = planner.tool(
      'github.get_file',
      { resource: 'repo:acme/payments', risk: 'low' },
      async (i: number) => {
        await sleep(Math.random() * 5);
        seen.push(`${planner.current()?.initiator.id}:${i}`);
        return i;
      },
    );
    const run = (token: string, user: string) =>
      planner.session({ initiatorToken: token, taskId: `iso-${user}` }, async () => {
        const out = [];
        for (let i = 0; i < 10; i++) {
          await sleep(Math.random() * 3);
          out.push(await tool(i));
        }
        return out;
      });
    await Promise.all([run(w.alice, 'alice'), run(w.bob, 'bob'), run(w.alice, 'alice2')]);
    for (const [task, who] of [
      ['iso-alice', 'user:alice'],
      ['iso-bob', 'user:bob'],
      ['iso-alice2', 'user:alice'],
    ] as const) {
      const got = w.records(task).filter((r) => r.type === 'tool.called');
      expect(got).toHaveLength(10);
      for (const r of got) expect(r.initiator?.id).toBe(who);
      const tokens = w.exported(task).map((e) => decodeJwt(e.credential).sub);
      expect(new Set(tokens)).toEqual(new Set([who]));
    }
    expect(seen.filter((x) => x.startsWith('user:bob'))).toHaveLength(10);
  });

  it('asks the issuer for a shorter credential lifetime when told to', async () => {
    const session = await planner.session({ initiatorToken: w.alice, lifetimeSec: 60 });
    const { iat, exp } = session.context.credential;
    expect(exp - iat).toBe(60);
  });

  it('refuses a tool called outside a session with a TypeError', async () => {
    await expect(getFile()('acme/x', 'a')).rejects.toThrow(TypeError);
  });

  it('works for synchronous functions and keeps this', async () => {
    const obj = {
      base: 40,
      add: planner.tool(
        'github.search_code',
        { resource: 'repo:acme/payments', risk: 'low' },
        function (this: { base: number }, n: number) {
          return this.base + n;
        },
      ),
    };
    const v = await planner.session({ initiatorToken: w.alice }, () => obj.add(2));
    expect(v).toBe(42);
  });

  it('refuses work once closed', async () => {
    const r = w.recorder();
    await r.close();
    await expect(r.session({ initiatorToken: w.alice })).rejects.toBeInstanceOf(
      RecorderClosedError,
    );
  });
});

describe('refusals before anything runs', () => {
  it('throws a typed error when the issuer refuses the initiator credential', async () => {
    const err = await planner.session({ initiatorToken: 'not.a.jwt' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenExchangeError);
    expect(err).toMatchObject({ code: 'token_exchange_failed', oauthError: 'invalid_request' });
  });

  it('does not run a tool when no decision can be obtained, and records why', async () => {
    const r = w.recorder({
      pdp: {
        decide: () => {
          throw new Error('engine offline');
        },
      },
    });
    let ran = false;
    const t = r.tool('github.get_file', { resource: 'repo:acme/payments' }, () => {
      ran = true;
    });
    const err = await r
      .session({ initiatorToken: w.alice, taskId: 'nodecision-1' }, () => t())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecisionUnavailableError);
    expect(ran).toBe(false);
    await r.close();
    const [rec] = w.records('nodecision-1').filter((x) => x.type === 'tool.called');
    expect(rec!.outcome).toMatchObject({
      status: 'denied',
      error: { code: 'decision_unavailable', message: 'engine offline' },
    });
    expect(rec).not.toHaveProperty('policy');
  });

  it('refuses a tool once its credential has expired', async () => {
    let now = Date.now();
    const r = w.recorder({ clock: () => now });
    const t = r.tool('github.get_file', { resource: 'repo:acme/payments', risk: 'low' }, () => 1);
    const session = await r.session({ initiatorToken: w.alice, lifetimeSec: 60 });
    now += 61_000;
    await expect(session.run(() => t())).rejects.toMatchObject({ code: 'credential_expired' });
  });
});

describe('delegation, denial and errors', () => {
  it('attributes the sub-agent tools to it with the chain intact; denies two hops deep', async () => {
    let ran = false;
    const deleteRepo = planner.tool(
      'github.delete_repo',
      {
        resource: 'repo:acme/payments',
        class: { privileged: true, irreversible: true, external: true },
        risk: 'critical',
      },
      async () => {
        ran = true;
      },
    );
    const read = getFile();
    const err = await planner.session({ initiatorToken: w.alice, taskId: 'deleg-1' }, async () => {
      await planner.delegate(
        w.researcher,
        { scope: ['repo:read', 'repo:write'], prompt: 'find it' },
        async () => {
          expect(planner.current()?.actor.id).toBe(RESEARCHER);
          await read('acme/payments', 'a.md');
          // Nested async work inherits the context.
          await Promise.all([
            read('acme/payments', 'b.md'),
            sleep(1).then(() => read('acme/payments', 'c.md')),
          ]);
        },
      );
      expect(planner.current()?.actor.id).toBe(PLANNER);
      return planner.delegate(w.researcher, { scope: ['repo:write'] }, () =>
        deleteRepo().catch((e: unknown) => e),
      );
    });
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(err).toMatchObject({ code: 'policy_denied', determining: ['forbid-deep-irreversible'] });
    expect(ran).toBe(false);
    const got = w.records('deleg-1');
    const calls = got.filter((r) => r.type === 'tool.called');
    expect(calls).toHaveLength(4);
    const sent = new Map(w.exported().map((e) => [e.record.id, e.credential]));
    for (const r of calls) {
      expect(r.actor?.id).toBe(RESEARCHER);
      expect(r.initiator?.id).toBe('user:alice');
      expect(chainOf(sent.get(r.id)!)).toEqual([PLANNER, RESEARCHER]);
    }
    const denied = calls.at(-1)!;
    expect(denied.outcome).toMatchObject({ status: 'denied', error: { code: 'policy_denied' } });
    expect(denied.policy).toMatchObject({
      decision: 'deny',
      decision_id: (err as PolicyDeniedError).decisionId,
    });
    const invoked = got.filter((r) => r.type === 'agent.invoked');
    expect(invoked.map((r) => r.actor?.id)).toEqual([PLANNER, RESEARCHER, RESEARCHER]);
    expect(invoked[1]!.cause?.kind).toBe('delegation');
    const prompt = got.find((r) => r.type === 'prompt.received')!;
    expect(prompt.cause).toEqual({ kind: 'delegation', record_id: invoked[0]!.id });
    expect(invoked[1]!.cause?.record_id).toBe(prompt.id);
    expect(new Set(got.map((r) => r.trace?.trace_id)).size).toBe(1);
  });

  it('records an exception with its class and message and re-throws it unchanged', async () => {
    class RateLimited extends Error {
      override name = 'RateLimited';
      retryIn = 3;
    }
    const thrown = new RateLimited('GitHub said slow down');
    const tool = planner.tool(
      'github.list_issues',
      { resource: 'repo:acme/payments', risk: 'low' },
      () => {
        throw thrown;
      },
    );
    const caught = await planner
      .session({ initiatorToken: w.alice, taskId: 'exc-1' }, () => tool())
      .catch((e: unknown) => e);
    expect(caught).toBe(thrown);
    const [r] = w.records('exc-1').filter((x) => x.type === 'tool.called');
    expect(r!.outcome).toMatchObject({
      status: 'error',
      error: { code: 'RateLimited', message: 'GitHub said slow down' },
    });
  });

  it('runs a privileged, irreversible tool policy allows only after its intent is durable', async () => {
    const order: string[] = [];
    const deleteRepo = planner.tool(
      'github.delete_repo',
      {
        resource: 'repo:acme/scratch',
        class: { privileged: true, irreversible: true, external: true },
        risk: 'critical',
        redact: ['token'],
      },
      async (args: { repo: string; token: string }) => {
        order.push(`ran after ${w.records('priv-1').length} records`);
        return { deleted: args.repo };
      },
    );
    await planner.session({ initiatorToken: w.alice, taskId: 'priv-1' }, async () => {
      await deleteRepo({ repo: 'acme/scratch', token: 'ghp_SECRET' });
    });
    const got = w.records('priv-1').filter((r) => r.type === 'tool.called');
    expect(got.map((r) => r.outcome?.status)).toEqual(['pending', 'success']);
    const intent = w.exported().find((e) => e.record.id === got[0]!.id)!;
    expect(intent.durable).toBe(true);
    expect(got[0]!.cause?.kind).toBe('agent_decision');
    expect(got[1]!.cause?.record_id).toBe(got[0]!.id);
    expect(got[0]!.policy?.decision).toBe('allow');
    expect(JSON.stringify(got)).not.toContain('ghp_SECRET');
    // agent.invoked and the intent were exported before the tool ran.
    expect(order).toEqual(['ran after 2 records']);
  });
});

describe('trace context', () => {
  it('continues an incoming traceparent and propagates it to HTTP headers and MCP _meta', async () => {
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { headers, meta, id } = await planner.session(
      { initiatorToken: w.alice, traceparent: incoming, taskId: 'trace-1' },
      () => ({
        headers: traceHeaders(),
        meta: withMcpMeta({ progressToken: 1 }),
        id: planner.current()?.traceId,
      }),
    );
    expect(id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parseTraceparent(headers['traceparent'])?.traceId).toBe(id);
    expect(meta).toMatchObject({ progressToken: 1, traceparent: headers['traceparent'] });
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeNull();
    expect(parseTraceparent('zz')).toBeNull();
    expect(traceHeaders()).toEqual({});
    const [invoked] = w.records('trace-1');
    expect(invoked!.trace).toMatchObject({
      trace_id: id,
      parent_span_id: '00f067aa0ba902b7',
    });
  });
});

describe('recordCall: recording around a call that answers every outcome itself', () => {
  const DELETE = {
    resource: 'repo:acme/payments',
    class: { irreversible: true },
    failure: (a: { ok: boolean }) => (a.ok ? undefined : { code: 'tool_error', message: 'no' }),
    result: (a: { ok: boolean }) => ({ kept: a.ok }),
  };

  it('hands back the answer, recording success with the digest of what `result` picks', async () => {
    const out = await planner.session({ initiatorToken: w.alice, taskId: 'around-1' }, () =>
      planner.recordCall('github.delete_repo', DELETE, async () => ({ ok: true })),
    );
    expect(out).toEqual({ ran: true, value: { ok: true } });
    const recs = w.records('around-1').filter((r) => r.type === 'tool.called');
    expect(recs.map((r) => r.outcome?.status)).toEqual(['pending', 'success']);
    expect(recs[1]!.outcome?.result_digest).toBe(digestOf({ kept: true }));
  });

  it('hands back an answer that stands for a failure, recording it as the error', async () => {
    const out = await planner.session({ initiatorToken: w.alice, taskId: 'around-2' }, () =>
      planner.recordCall('github.delete_repo', DELETE, () => ({ ok: false })),
    );
    expect(out).toEqual({ ran: true, value: { ok: false } });
    const last = w.records('around-2').at(-1)!;
    expect(last.outcome).toMatchObject({
      status: 'error',
      error: { code: 'tool_error', message: 'no' },
      result_digest: digestOf({ kept: false }),
    });
  });

  it('hands back what the body threw, and a refusal instead of throwing it', async () => {
    const boom = new Error('gone');
    const thrown = await planner.session({ initiatorToken: w.alice, taskId: 'around-3' }, () =>
      planner.recordCall('github.delete_repo', DELETE, () => Promise.reject(boom)),
    );
    expect(thrown).toEqual({ ran: true, thrown: boom });
    expect(w.records('around-3').at(-1)!.outcome).toMatchObject({
      status: 'error',
      error: { code: 'Error', message: 'gone' },
    });
    let ran = false;
    const refused = await planner.session({ initiatorToken: w.alice, taskId: 'around-4' }, () =>
      planner.delegate(w.researcher, {}, () =>
        planner.delegate(w.researcher, {}, () =>
          planner.recordCall('github.delete_repo', DELETE, () => {
            ran = true;
            return { ok: true };
          }),
        ),
      ),
    );
    expect(ran).toBe(false);
    expect(refused.ran).toBe(false);
    expect(!refused.ran && refused.error).toBeInstanceOf(PolicyDeniedError);
    expect(w.records('around-4').at(-1)!.outcome?.status).toBe('denied');
    await expect(planner.recordCall('x.y', { resource: 'r' }, () => 1)).rejects.toThrow(TypeError);
  });
});

describe('beginCall: the decision in one hook, the outcome in another', () => {
  const DELETE = {
    resource: (i: { repo: string }) => `repo:${i.repo}`,
    class: { irreversible: true },
  };

  it('hands back an open call past its durable intent, whose outcome is recorded later', async () => {
    const started = await planner.session({ initiatorToken: w.alice, taskId: 'begin-1' }, () =>
      planner.beginCall('github.delete_repo', DELETE, [{ repo: 'acme/old' }]),
    );
    expect(started.allowed).toBe(true);
    // The intent is out before the hook answers; nothing else yet.
    const before = w.records('begin-1').filter((r) => r.type === 'tool.called');
    expect(before.map((r) => r.outcome?.status)).toEqual(['pending']);
    if (started.allowed) started.call.finish({ deleted: true });
    const recs = w.records('begin-1').filter((r) => r.type === 'tool.called');
    expect(recs.map((r) => r.outcome?.status)).toEqual(['pending', 'success']);
    expect(recs[1]!.cause?.record_id).toBe(recs[0]!.id);
    expect(recs[1]!.policy?.decision_id).toBe(started.allowed ? started.call.decisionId : '');
    expect(recs[1]!.action?.resource).toBe('repo:acme/old');
  });

  it('hands back a refusal, recorded, instead of throwing it; one options object serves every call', async () => {
    const refused = await planner.session({ initiatorToken: w.alice, taskId: 'begin-2' }, () =>
      planner.delegate(w.researcher, {}, () =>
        planner.delegate(w.researcher, {}, async () => [
          await planner.beginCall('github.delete_repo', DELETE, [{ repo: 'acme/a' }]),
          await planner.beginCall('github.delete_repo', DELETE, [{ repo: 'acme/b' }]),
        ]),
      ),
    );
    expect(refused.map((r) => r.allowed)).toEqual([false, false]);
    expect(!refused[0]!.allowed && refused[0]!.error).toBeInstanceOf(PolicyDeniedError);
    const recs = w.records('begin-2').filter((r) => r.type === 'tool.called');
    expect(recs.map((r) => [r.action?.resource, r.outcome?.status])).toEqual([
      ['repo:acme/a', 'denied'],
      ['repo:acme/b', 'denied'],
    ]);
    await expect(planner.beginCall('x.y', { resource: 'r' }, [])).rejects.toThrow(TypeError);
  });
});

describe('decisions as the collector decided them', () => {
  /** A decision point whose catalog calls every action irreversible and single-use. */
  function catalogPdp() {
    let asked = 0;
    return {
      get asked() {
        return asked;
      },
      decide: () => ({
        decision: 'allow' as const,
        decisionId: `d-${++asked}`,
        engine: 'cedar',
        determining: [],
        class: { privileged: false, irreversible: true, external: false },
        risk: 'high' as const,
        singleUse: true,
        validUntil: Date.now() + 300_000,
      }),
    };
  }

  it('records the decided class and risk, fails closed by them, and never reuses a single-use decision', async () => {
    const pdp = catalogPdp();
    const r = w.recorder({ pdp, decisionCacheTtlMs: 60_000 });
    const tool = r.tool('github.delete_repo', { resource: 'repo:acme/x', risk: 'low' }, () => 'ok');
    await r.session({ initiatorToken: w.alice, taskId: 'catalog-1' }, async () => {
      await tool();
      await tool();
    });
    await r.close();
    expect(pdp.asked).toBe(2);
    const calls = w.records('catalog-1').filter((x) => x.type === 'tool.called');
    // Each call: a durable intent, then its outcome, both citing that call's own decision.
    expect(calls.map((x) => [x.outcome?.status, x.policy?.decision_id])).toEqual([
      ['pending', 'd-1'],
      ['success', 'd-1'],
      ['pending', 'd-2'],
      ['success', 'd-2'],
    ]);
    for (const x of calls) {
      expect(x.action).toMatchObject({
        class: { privileged: false, irreversible: true, external: false },
        risk: 'high',
      });
    }
  });
});
