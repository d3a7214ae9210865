// The Claude Agent SDK (@anthropic-ai/claude-agent-sdk) drives a bundled CLI that needs the
// vendor's service, so these tests call the hook functions (PreToolUse, PostToolUse,
// PostToolUseFailure, SubagentStart) and canUseTool as the CLI would, with the SDK's own hook
// input and output types, against a real collector: every tool call decided by its Cedar
// policies, a denial as permissionDecision "deny", a sub-agent under its own identity with the
// whole chain verified.
import type {
  CanUseTool,
  HookCallbackMatcher,
  HookEvent,
  HookInput,
  Options,
  PostToolUseFailureHookInput,
  PostToolUseHookInput,
  PreToolUseHookInput,
  SDKTaskStartedMessage,
  SubagentStartHookInput,
  SyncHookJSONOutput,
} from '@anthropic-ai/claude-agent-sdk';
import { claudeAgentProvenance } from '@provenant/sdk/claude-agent';
import { describe, expect, it } from 'vitest';
import { CRITICAL, plannerWorld, repoResource } from '../support/frameworks.js';
import { PLANNER, RESEARCHER, events } from '../support/sdk.js';
import type { Stored } from '../support/sdk.js';

const w = plannerWorld('claude-agent');

const TOOLS = {
  mcp__github__get_file: { action: 'github.get_file', resource: repoResource },
  mcp__github__search_code: { action: 'github.search_code', resource: repoResource },
  mcp__github__push: {
    action: 'github.push',
    resource: repoResource,
    class: CRITICAL,
    risk: 'critical',
  },
  mcp__github__delete_repo: {
    action: 'github.delete_repo',
    resource: repoResource,
    class: CRITICAL,
    risk: 'critical',
  },
  mcp__slack__post_message: {
    action: 'slack.post_message',
    resource: (i: { channel: string }) => `slack:${i.channel}`,
  },
} as const;

const base = { session_id: 'claude-session-1', transcript_path: '/tmp/t.jsonl', cwd: '/work' };
const signal = new AbortController().signal;

/** Runs every hook the options hold for the input's event, as the CLI does; their outputs. */
async function fire(options: Options, input: HookInput): Promise<SyncHookJSONOutput[]> {
  const matchers: HookCallbackMatcher[] = options.hooks?.[input.hook_event_name as HookEvent] ?? [];
  const out: SyncHookJSONOutput[] = [];
  for (const m of matchers) {
    for (const h of m.hooks) {
      out.push(
        (await h(input, 'tool_use_id' in input ? input.tool_use_id : undefined, {
          signal,
        })) as SyncHookJSONOutput,
      );
    }
  }
  return out;
}

const pre = (id: string, tool: string, input: unknown, agent?: [string, string]) =>
  ({
    ...base,
    hook_event_name: 'PreToolUse',
    tool_name: tool,
    tool_input: input,
    tool_use_id: id,
    ...(agent ? { agent_id: agent[0], agent_type: agent[1] } : {}),
  }) satisfies PreToolUseHookInput;
const post = (id: string, tool: string, input: unknown, response: unknown) =>
  ({
    ...base,
    hook_event_name: 'PostToolUse',
    tool_name: tool,
    tool_input: input,
    tool_response: response,
    tool_use_id: id,
  }) satisfies PostToolUseHookInput;
const failed = (id: string, tool: string, input: unknown, error: string) =>
  ({
    ...base,
    hook_event_name: 'PostToolUseFailure',
    tool_name: tool,
    tool_input: input,
    tool_use_id: id,
    error,
  }) satisfies PostToolUseFailureHookInput;

const denial = (out: SyncHookJSONOutput[]) =>
  out.find(
    (o) =>
      o.hookSpecificOutput?.hookEventName === 'PreToolUse' &&
      o.hookSpecificOutput.permissionDecision === 'deny',
  )?.hookSpecificOutput;

const toolCalls = (got: Stored[]) => got.filter((r) => r.type === 'tool.called');
const ours = (got: Stored[]) => got.filter((r) => r.type !== 'policy.decision');

describe('Claude Agent SDK hooks', () => {
  it('decides each tool call in PreToolUse: allowed, denied (permissionDecision deny), failing, privileged', async () => {
    const provenant = claudeAgentProvenance(w.recorder, { tools: TOOLS });
    const repo = { repo: 'acme/payments' };
    const traceparent = await w.recorder.session(
      { initiatorToken: w.s.alice, taskId: 'cl-1' },
      async () => {
        const options = provenant.options({ allowedTools: ['mcp__github__get_file'] });
        expect(options.allowedTools).toEqual(['mcp__github__get_file']);
        // Allowed: no opinion given (the CLI's own permissions still apply), then the outcome.
        expect(
          denial(await fire(options, pre('t1', 'mcp__github__get_file', repo))),
        ).toBeUndefined();
        await fire(options, post('t1', 'mcp__github__get_file', repo, { text: '# README' }));
        // Denied: the model reads the reason; the CLI does not run the tool.
        const refused = denial(
          await fire(options, pre('t2', 'mcp__slack__post_message', { channel: 'general' })),
        );
        expect(refused).toMatchObject({ permissionDecision: 'deny' });
        expect(
          (refused as { permissionDecisionReason?: string }).permissionDecisionReason,
        ).toContain('Provenant refused this tool call (policy_denied)');
        // Failing.
        expect(
          denial(await fire(options, pre('t3', 'mcp__github__search_code', repo))),
        ).toBeUndefined();
        await fire(options, failed('t3', 'mcp__github__search_code', repo, 'rate limited'));
        // Privileged: the intent is durable before PreToolUse answers.
        expect(denial(await fire(options, pre('t4', 'mcp__github__push', repo)))).toBeUndefined();
        await fire(options, post('t4', 'mcp__github__push', repo, 'pushed'));
        return options.env?.['TRACEPARENT'];
      },
    );
    await w.recorder.flush();
    const got = await events(w.c.url, { task_id: 'cl-1' });
    const calls = toolCalls(got);
    const by = (name: string) => calls.filter((r) => r.action?.name === name);
    expect(by('github.get_file').map((r) => r.outcome?.status)).toEqual(['success']);
    expect(by('slack.post_message')[0]).toMatchObject({
      outcome: { status: 'denied', error: { code: 'policy_denied' } },
      policy: { decision: 'deny' },
      action: { tool: { name: 'mcp__slack__post_message', call_id: 't2' } },
    });
    expect(by('github.search_code')[0]).toMatchObject({
      outcome: { status: 'error', error: { code: 'tool_error', message: 'rate limited' } },
    });
    const push = by('github.push');
    expect(push.map((r) => r.outcome?.status)).toEqual(['pending', 'success']);
    expect(push[1]!.cause?.record_id).toBe(push[0]!.id);
    for (const r of calls) {
      expect(r.attribution.level).toBe('verified');
      expect(r.actor?.id).toBe(PLANNER);
    }
    const traceIds = new Set(ours(got).map((r) => r.trace?.trace_id));
    expect(traceIds.size).toBe(1);
    expect(traceparent).toMatch(new RegExp(`^00-${[...traceIds][0]}-[0-9a-f]{16}-01$`));
  });

  it('runs a sub-agent (agent_id, agent_type) under its own identity, with the chain back to alice', async () => {
    const provenant = claudeAgentProvenance(w.recorder, {
      tools: TOOLS,
      agents: { researcher: { identity: w.s.researcher, scope: ['repo:read', 'repo:write'] } },
    });
    const repo = { repo: 'acme/payments' };
    const sub: [string, string] = ['agent-7', 'researcher'];
    await w.recorder.session({ initiatorToken: w.s.alice, taskId: 'cl-2' }, async () => {
      const options = provenant.options();
      // The main thread's Agent tool call starts the sub-agent: the delegation, not an action.
      const agentCall = pre('a1', 'Agent', {
        subagent_type: 'researcher',
        prompt: 'clean up',
        description: 'x',
      });
      expect(denial(await fire(options, agentCall))).toBeUndefined();
      const start = {
        ...base,
        hook_event_name: 'SubagentStart',
        agent_id: sub[0],
        agent_type: sub[1],
      } satisfies SubagentStartHookInput;
      await fire(options, start);
      expect(
        denial(await fire(options, pre('r1', 'mcp__github__get_file', repo, sub))),
      ).toBeUndefined();
      await fire(options, post('r1', 'mcp__github__get_file', repo, { text: '# README' }));
      expect(
        denial(await fire(options, pre('r2', 'mcp__github__delete_repo', repo, sub))),
      ).toMatchObject({
        permissionDecision: 'deny',
      });
    });
    await w.recorder.flush();
    const got = await events(w.c.url, { task_id: 'cl-2' });
    const invoked = got.filter((r) => r.type === 'agent.invoked');
    expect(invoked.map((r) => r.actor?.id)).toEqual([PLANNER, RESEARCHER]);
    expect(invoked[1]!.cause).toEqual({ kind: 'delegation', record_id: invoked[0]!.id });
    // The Agent tool use that started it (its frames' parent_tool_use_id), the one open.
    expect(invoked[1]!.action?.tool).toEqual({ name: 'Agent', call_id: 'a1' });
    const calls = toolCalls(got);
    expect(calls.map((r) => [r.action?.name, r.outcome?.status])).toEqual([
      ['github.get_file', 'success'],
      ['github.delete_repo', 'denied'],
    ]);
    for (const r of calls) {
      expect(r.attribution.level).toBe('verified');
      expect(r.actor?.id).toBe(RESEARCHER);
      expect(r.delegation?.map((h) => [h.from, h.to])).toEqual([
        ['user:alice', PLANNER],
        [PLANNER, RESEARCHER],
      ]);
    }
  });

  it('links each of two sub-agents of one type to its own Agent tool use from the stream, and neither without it', async () => {
    const researcher = { identity: w.s.researcher, scope: ['repo:read'] };
    const repo = { repo: 'acme/payments' };
    const run = async (taskId: string, observed: boolean) => {
      const provenant = claudeAgentProvenance(w.recorder, {
        tools: TOOLS,
        agents: { researcher },
      });
      await w.recorder.session({ initiatorToken: w.s.alice, taskId }, async () => {
        const options = provenant.options();
        const agentInput = { subagent_type: 'researcher', prompt: 'look', description: 'x' };
        // Two Agent calls at once; the CLI starts their sub-agents in either order.
        await fire(options, pre(`${taskId}-a1`, 'Agent', agentInput));
        await fire(options, pre(`${taskId}-a2`, 'Agent', agentInput));
        const starts: [string, string][] = [
          [`${taskId}-s2`, `${taskId}-a2`],
          [`${taskId}-s1`, `${taskId}-a1`],
        ];
        for (const [agentId, toolUseId] of starts) {
          if (observed) {
            // The stream's task_started names the tool use; a sub-agent frame says the same.
            const started = {
              type: 'system',
              subtype: 'task_started',
              task_id: agentId,
              tool_use_id: toolUseId,
              description: 'look',
              uuid: '00000000-0000-4000-8000-000000000001',
              session_id: base.session_id,
            } satisfies SDKTaskStartedMessage;
            provenant.observe(started);
          }
          await fire(options, {
            ...base,
            hook_event_name: 'SubagentStart',
            agent_id: agentId,
            agent_type: 'researcher',
          } satisfies SubagentStartHookInput);
          const id = `${agentId}-r`;
          await fire(options, pre(id, 'mcp__github__get_file', repo, [agentId, 'researcher']));
          await fire(options, post(id, 'mcp__github__get_file', repo, 'ok'));
        }
      });
      await w.recorder.flush();
      return (await events(w.c.url, { task_id: taskId })).filter(
        (r) => r.type === 'agent.invoked' && r.actor?.id === RESEARCHER,
      );
    };
    const linked = await run('cl-par-1', true);
    expect(linked.map((r) => r.action?.tool)).toEqual([
      { name: 'Agent', call_id: 'cl-par-1-a2' },
      { name: 'Agent', call_id: 'cl-par-1-a1' },
    ]);
    // Hooks alone cannot tell the two apart: no link is recorded rather than a wrong one.
    const unlinked = await run('cl-par-2', false);
    expect(unlinked).toHaveLength(2);
    expect(unlinked.map((r) => r.action?.tool)).toEqual([undefined, undefined]);
    for (const r of [...linked, ...unlinked]) expect(r.attribution.level).toBe('verified');
  });

  it('decides in canUseTool a call no hook decided, and leaves one a hook decided to the next', async () => {
    const provenant = claudeAgentProvenance(w.recorder, { tools: TOOLS });
    const asked: string[] = [];
    const next: CanUseTool = async (toolName, input) => {
      asked.push(toolName);
      return { behavior: 'allow', updatedInput: input };
    };
    const o = (toolUseID: string) => ({ signal, toolUseID, requestId: `req-${toolUseID}` });
    await w.recorder.session({ initiatorToken: w.s.alice, taskId: 'cl-3' }, async () => {
      const options = provenant.options({ canUseTool: next });
      const denied = await options.canUseTool(
        'mcp__slack__post_message',
        { channel: 'x' },
        o('u1'),
      );
      expect(denied).toMatchObject({ behavior: 'deny' });
      expect(asked).toEqual([]);
      await fire(options, pre('u2', 'mcp__github__get_file', { repo: 'acme/payments' }));
      const allowed = await options.canUseTool(
        'mcp__github__get_file',
        { repo: 'acme/payments' },
        o('u2'),
      );
      expect(allowed).toMatchObject({ behavior: 'allow' });
      expect(asked).toEqual(['mcp__github__get_file']);
    });
    await w.recorder.flush();
    const calls = toolCalls(await events(w.c.url, { task_id: 'cl-3' }));
    // One decision each: canUseTool did not decide u2 again.
    expect(calls.map((r) => [r.action?.tool?.call_id, r.outcome?.status])).toEqual([
      ['u1', 'denied'],
    ]);
  });
});
