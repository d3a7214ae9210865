// The SDK against a real collector: what the collector makes of the records the SDK sends —
// verified attribution, the delegation chain, its own Cedar decisions and issuer. The SDK's
// own behaviour is tested without a collector in packages/sdk/test.
import { setTimeout as sleep } from 'node:timers/promises';
import { PolicyDeniedError, TokenExchangeError, createRecorder } from '@provenant/sdk';
import type { Recorder } from '@provenant/sdk';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCollector as collector } from '../support/collector.js';
import { PLANNER, RESEARCHER, events, scenario, tempDir } from '../support/sdk.js';
import type { Scenario } from '../support/sdk.js';

const tmp = tempDir('recorder');
let c: RunningCollector;
let s: Scenario;
let planner: Recorder;

beforeAll(async () => {
  c = await collector(tmp.dir);
  s = await scenario(c.url);
  planner = createRecorder({
    collectorUrl: c.url,
    identity: s.planner,
    agent: { name: 'planner', version: '3.0.0' },
    spool: false,
    batch: { maxRecords: 100, maxDelayMs: 5 },
  });
});
afterAll(async () => {
  await planner.close();
  await c.close();
  tmp.remove();
});

const getFile = () =>
  planner.tool(
    'github.get_file',
    { resource: (repo: string) => `repo:${repo}`, risk: 'low', server: 'github-mcp' },
    async (repo: string, path: string) => ({ repo, path, text: 'hello' }),
  );

describe('sessions and tools', () => {
  it('records a tool call with initiator, actor, decision, digests and outcome, verified', async () => {
    const tool = getFile();
    const result = await planner.session(
      {
        initiatorToken: s.alice,
        taskId: 'task-1',
        prompt: 'read the README',
        conversationId: 'conv-1',
      },
      () => tool('acme/payments', 'README.md'),
    );
    expect(result).toEqual({ repo: 'acme/payments', path: 'README.md', text: 'hello' });
    await planner.flush();
    const all = await events(c.url, { task_id: 'task-1' });
    // The decision point's own witness record shares the task.
    expect(all.filter((r) => r.type === 'policy.decision')).toHaveLength(1);
    const got = all.filter((r) => r.type !== 'policy.decision');
    expect(got.map((r) => r.type)).toEqual(['prompt.received', 'agent.invoked', 'tool.called']);
    const [prompt, invoked, call] = got as [(typeof got)[0], (typeof got)[0], (typeof got)[0]];
    for (const r of got) {
      expect(r.attribution.level).toBe('verified');
      expect(r.initiator).toEqual({ id: 'user:alice', kind: 'human' });
      expect(r.actor).toMatchObject({
        id: PLANNER,
        agent: 'planner',
        version: '3.0.0',
        instance: '19c2',
      });
      expect(r.delegation).toEqual([expect.objectContaining({ from: 'user:alice', to: PLANNER })]);
      expect(r.trace?.trace_id).toBe(prompt.trace?.trace_id);
      expect(r.conversation_id).toBe('conv-1');
    }
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
    expect(call.policy).toMatchObject({ engine: 'cedar', decision: 'allow' });
    expect(call.attribution.reasons).toEqual([]);
    expect(call.trace?.parent_span_id).toBe(invoked.trace?.span_id);
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
    await Promise.all([run(s.alice, 'alice'), run(s.bob, 'bob'), run(s.alice, 'alice2')]);
    await planner.flush();
    for (const [task, who] of [
      ['iso-alice', 'user:alice'],
      ['iso-bob', 'user:bob'],
      ['iso-alice2', 'user:alice'],
    ] as const) {
      const got = await events(c.url, { task_id: task, type: 'tool.called' });
      expect(got).toHaveLength(10);
      for (const r of got) {
        expect(r.initiator?.id).toBe(who);
        expect(r.attribution.level).toBe('verified');
      }
    }
    expect(seen.filter((x) => x.startsWith('user:bob'))).toHaveLength(10);
  });

  it('asks the issuer for a shorter credential lifetime when told to', async () => {
    const session = await planner.session({ initiatorToken: s.alice, lifetimeSec: 60 });
    const { iat, exp } = session.context.credential;
    expect(exp - iat).toBe(60);
  });
});

describe('refusals before anything runs', () => {
  it('throws a typed error when the issuer refuses the initiator credential', async () => {
    const err = await planner.session({ initiatorToken: 'not.a.jwt' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenExchangeError);
    expect(err).toMatchObject({ code: 'token_exchange_failed', oauthError: 'invalid_request' });
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
    const err = await planner.session({ initiatorToken: s.alice, taskId: 'deleg-1' }, async () => {
      await planner.delegate(
        s.researcher,
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
      return planner.delegate(s.researcher, { scope: ['repo:write'] }, () =>
        deleteRepo().catch((e: unknown) => e),
      );
    });
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(err).toMatchObject({ code: 'policy_denied', determining: ['forbid-deep-irreversible'] });
    expect(ran).toBe(false);
    await planner.flush();
    const got = (await events(c.url, { task_id: 'deleg-1' })).filter(
      (r) => r.type !== 'policy.decision',
    );
    const calls = got.filter((r) => r.type === 'tool.called');
    expect(calls).toHaveLength(4);
    for (const r of calls) {
      expect(r.actor?.id).toBe(RESEARCHER);
      expect(r.initiator?.id).toBe('user:alice');
      expect(r.attribution.level).toBe('verified');
      expect(r.delegation?.map((h) => [h.from, h.to])).toEqual([
        ['user:alice', PLANNER],
        [PLANNER, RESEARCHER],
      ]);
    }
    const denied = calls.at(-1)!;
    expect(denied.outcome).toMatchObject({ status: 'denied', error: { code: 'policy_denied' } });
    expect(denied.policy).toMatchObject({
      decision: 'deny',
      decision_id: (err as PolicyDeniedError).decisionId,
    });
    expect(denied.attribution.reasons).toEqual([]);
    const invoked = got.filter((r) => r.type === 'agent.invoked');
    expect(invoked.map((r) => r.actor?.id)).toEqual([PLANNER, RESEARCHER, RESEARCHER]);
    expect(invoked[1]!.cause?.kind).toBe('delegation');
    expect(new Set(got.map((r) => r.trace?.trace_id)).size).toBe(1);
  });
});
