#!/usr/bin/env node
// `npm run example:claude-agent-sdk`: the Claude Agent SDK's hooks, called as its CLI calls
// them. The SDK drives a bundled Claude Code CLI that needs Anthropic's service, so this example
// plays a scripted session through the same hook functions `query()` would get (no network, no
// API key): alice's planner starts the researcher sub-agent (the `Agent` tool), which reads a
// file (allowed), searches code (the tool fails) and tries to delete the repository (denied:
// `permissionDecision: "deny"`, which the CLI hands the model). With a real CLI, pass
// `provenant.options({...})` to `query({ prompt, options })` instead.
import process from 'node:process';
import { createRecorder } from '@provenant/sdk';
import { claudeAgentProvenance } from '@provenant/sdk/claude-agent';
import { step, world } from '../lib/world.js';

const w = await world('claude-agent-sdk');
const recorder = createRecorder({
  collectorUrl: w.url,
  identity: w.planner,
  agent: { name: 'planner' },
  spool: false,
});
const repo = (i) => `repo:${i.repo}`;
const provenant = claudeAgentProvenance(recorder, {
  tools: {
    mcp__github__get_file: { action: 'github.get_file', resource: repo },
    mcp__github__search_code: { action: 'github.search_code', resource: repo },
    mcp__github__delete_repo: {
      action: 'github.delete_repo',
      resource: repo,
      class: { privileged: true, irreversible: true, external: true },
      risk: 'critical',
    },
  },
  agents: { researcher: { identity: w.researcher, scope: ['repo:read', 'repo:write'] } },
});

const base = { session_id: 'scripted-session', transcript_path: '/dev/null', cwd: process.cwd() };
const signal = AbortSignal.timeout(60_000);
/** What the CLI does with a hook event: every matching hook, in order. */
async function fire(options, input) {
  const out = [];
  for (const m of options.hooks[input.hook_event_name] ?? []) {
    for (const h of m.hooks) out.push(await h(input, input.tool_use_id, { signal }));
  }
  return out.find((o) => o.hookSpecificOutput?.permissionDecision === 'deny')?.hookSpecificOutput;
}
const sub = { agent_id: 'agent-1', agent_type: 'researcher' };
/** One tool call of the sub-agent: PreToolUse, then (if not denied) the tool and its Post hook. */
async function toolCall(id, name, input, run) {
  const denied = await fire(options, {
    ...base,
    ...sub,
    hook_event_name: 'PreToolUse',
    tool_name: name,
    tool_input: input,
    tool_use_id: id,
  });
  if (denied)
    return step('researcher', `${name}: DENIED — ${denied.permissionDecisionReason.slice(0, 80)}`);
  try {
    const response = await run();
    await fire(options, {
      ...base,
      ...sub,
      hook_event_name: 'PostToolUse',
      tool_name: name,
      tool_input: input,
      tool_response: response,
      tool_use_id: id,
    });
    step('researcher', `${name}: ran → ${JSON.stringify(response)}`);
  } catch (e) {
    await fire(options, {
      ...base,
      ...sub,
      hook_event_name: 'PostToolUseFailure',
      tool_name: name,
      tool_input: input,
      tool_use_id: id,
      error: e.message,
    });
    step('researcher', `${name}: FAILED ${e.message}`);
  }
}

let options;
const taskId = `claude-agent-${Date.now()}`;
step('alice', 'asks the planner to clean up acme/payments');
await recorder.session({ initiatorToken: w.alice, taskId, prompt: 'clean up' }, async () => {
  options = provenant.options({ allowedTools: ['mcp__github__get_file'] });
  step('planner', `starts the researcher (Agent tool); TRACEPARENT=${options.env.TRACEPARENT}`);
  await fire(options, {
    ...base,
    hook_event_name: 'PreToolUse',
    tool_name: 'Agent',
    tool_input: {
      subagent_type: 'researcher',
      description: 'clean up',
      prompt: 'clean up acme/payments',
    },
    tool_use_id: 'toolu_agent',
  });
  await fire(options, { ...base, ...sub, hook_event_name: 'SubagentStart' });
  await toolCall('toolu_1', 'mcp__github__get_file', { repo: 'acme/payments' }, async () => ({
    text: '# payments service',
  }));
  await toolCall('toolu_2', 'mcp__github__search_code', { repo: 'acme/payments' }, async () => {
    throw new Error('GitHub search rate limit exceeded; retry in 42 s');
  });
  await toolCall(
    'toolu_3',
    'mcp__github__delete_repo',
    { repo: 'acme/payments-old' },
    async () => ({ deleted: true }),
  );
});
await recorder.drain(10_000);
await recorder.close();
await w.print(taskId);
await w.close();
