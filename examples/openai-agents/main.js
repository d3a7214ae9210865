#!/usr/bin/env node
// `npm run example:openai-agents`: the OpenAI Agents SDK with a scripted model (no network, no
// API key). alice asks the planner agent, which hands off to the researcher agent; the
// researcher reads a file (allowed), searches code (the tool fails) and tries to delete the
// repository (denied by policy: the model gets the guardrail's refusal). Every record is
// verified, with the chain alice → planner → researcher, in one trace.
import { Agent, Runner, Usage, setTraceProcessors, setTracingDisabled } from '@openai/agents';
import { z } from 'zod';
import { createRecorder } from '@provenant/sdk';
import { openAIAgentsProvenance } from '@provenant/sdk/openai-agents';
import { step, world } from '../lib/world.js';

/** A model that plays a script: each turn, the next list of output items. */
class ScriptedModel {
  constructor(agent, turns) {
    this.agent = agent;
    this.turns = turns;
  }
  async getResponse(request) {
    const results = (Array.isArray(request.input) ? request.input : []).filter(
      (i) => i.type === 'function_call_result',
    );
    for (const r of results.filter((x) => !seen.has(x.callId))) {
      seen.add(r.callId);
      step(this.agent, `sees ${r.name}: ${textOf(r.output)}`);
    }
    return { usage: new Usage(), output: this.turns.shift() ?? [say('nothing more to do')] };
  }
  // eslint-disable-next-line require-yield -- the example never streams
  async *getStreamedResponse() {
    throw new Error('not streamed');
  }
}
const seen = new Set();
const textOf = (o) =>
  (typeof o === 'string' ? o : (o?.text ?? JSON.stringify(o))).replace(/\s+/g, ' ').slice(0, 100);
const call = (callId, name, args) => ({
  type: 'function_call',
  callId,
  name,
  arguments: JSON.stringify(args),
  status: 'completed',
});
const say = (text) => ({
  type: 'message',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text }],
});

// The framework's traces stay in this process (no export to OpenAI).
setTraceProcessors([]);
setTracingDisabled(false);

const w = await world('openai-agents');
const recorder = createRecorder({
  collectorUrl: w.url,
  identity: w.planner,
  agent: { name: 'planner' },
  spool: false,
});
const provenant = openAIAgentsProvenance(recorder, {
  agents: { researcher: { identity: w.researcher, scope: ['repo:read', 'repo:write'] } },
});
const repo = (i) => `repo:${i.repo}`;
const getFile = provenant.tool(
  {
    name: 'get_file',
    description: 'Read a file of a repository',
    parameters: z.object({ repo: z.string(), path: z.string() }),
    execute: async ({ repo: r, path }) => `# ${r}/${path}\nPayments service.`,
  },
  { action: 'github.get_file', resource: repo },
);
const searchCode = provenant.tool(
  {
    name: 'search_code',
    description: 'Search the code of a repository',
    parameters: z.object({ repo: z.string(), q: z.string() }),
    execute: async () => {
      throw new Error('GitHub search rate limit exceeded; retry in 42 s');
    },
  },
  { action: 'github.search_code', resource: repo },
);
const deleteRepo = provenant.tool(
  {
    name: 'delete_repo',
    description: 'Delete a repository',
    parameters: z.object({ repo: z.string() }),
    execute: async ({ repo: r }) => `deleted ${r}`,
  },
  {
    action: 'github.delete_repo',
    resource: repo,
    class: { privileged: true, irreversible: true, external: true },
    risk: 'critical',
  },
);
const researcher = new Agent({
  name: 'researcher',
  instructions: 'Investigate and clean up repositories.',
  model: new ScriptedModel('researcher', [
    [
      call('r1', 'get_file', { repo: 'acme/payments', path: 'README.md' }),
      call('r2', 'search_code', { repo: 'acme/payments', q: 'TODO' }),
    ],
    [call('r3', 'delete_repo', { repo: 'acme/payments-old' })],
    [say('Read the README; search failed; deleting payments-old was refused.')],
  ]),
  tools: [getFile, searchCode, deleteRepo],
});
const planner = new Agent({
  name: 'planner',
  instructions: 'Hand repository work to the researcher.',
  model: new ScriptedModel('planner', [[call('p1', 'transfer_to_researcher', {})]]),
  handoffs: [researcher],
});

const taskId = `openai-agents-${Date.now()}`;
const runner = provenant.attach(new Runner());
step('alice', 'asks the planner to clean up acme/payments');
const result = await recorder.session({ initiatorToken: w.alice, taskId, prompt: 'clean up' }, () =>
  provenant.withTrace('clean up', () => runner.run(planner, 'Clean up acme/payments.')),
);
step(result.lastAgent?.name ?? 'agent', `answers: ${result.finalOutput}`);
await recorder.drain(10_000);
await recorder.close();
await w.print(taskId);
await w.close();
