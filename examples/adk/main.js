#!/usr/bin/env node
// `npm run example:adk`: Google ADK for TypeScript with a scripted model (no network, no API
// key). alice asks the planner agent, which transfers to its sub-agent, the researcher; the
// researcher reads a file (allowed), searches code (the tool fails) and tries to delete the
// repository (denied by policy: the model gets the refusal as the tool's response). Every record
// is verified; the researcher's carry the chain alice → planner → researcher.
import {
  BaseLlm,
  FunctionTool,
  InMemoryRunner,
  LlmAgent,
  LogLevel,
  setLogLevel,
} from '@google/adk';
import { z } from 'zod';
import { createRecorder } from '@provenant/sdk';
import { adkProvenance } from '@provenant/sdk/adk';
import { step, world } from '../lib/world.js';

/** A model that plays a script: each request, the next list of parts. */
class ScriptedLlm extends BaseLlm {
  constructor(agent, turns) {
    super({ model: 'scripted' });
    this.agent = agent;
    this.turns = turns;
  }
  async *generateContentAsync(request) {
    const last = request.contents.at(-1)?.parts ?? [];
    for (const p of last.filter((x) => x.functionResponse)) {
      step(
        this.agent,
        `sees ${p.functionResponse.name}: ${JSON.stringify(p.functionResponse.response).slice(0, 90)}`,
      );
    }
    yield { content: { role: 'model', parts: this.turns.shift() ?? [{ text: 'nothing more' }] } };
  }
  async connect() {
    throw new Error('no live connection');
  }
}
setLogLevel(LogLevel.ERROR); // ADK's own info lines aside
const fc = (id, name, args) => ({ functionCall: { id, name, args } });

const w = await world('adk');
const recorder = createRecorder({
  collectorUrl: w.url,
  identity: w.planner,
  agent: { name: 'planner' },
  spool: false,
});
const repo = (i) => `repo:${i.repo}`;
const provenant = adkProvenance(recorder, {
  tools: {
    get_file: { action: 'github.get_file', resource: repo },
    search_code: { action: 'github.search_code', resource: repo },
    delete_repo: {
      action: 'github.delete_repo',
      resource: repo,
      class: { privileged: true, irreversible: true, external: true },
      risk: 'critical',
    },
  },
  agents: { researcher: { identity: w.researcher, scope: ['repo:read', 'repo:write'] } },
});
const repoSchema = z.object({ repo: z.string() });
const researcher = new LlmAgent({
  name: 'researcher',
  description: 'Investigates and cleans up repositories.',
  model: new ScriptedLlm('researcher', [
    [
      fc('r1', 'get_file', { repo: 'acme/payments' }),
      fc('r2', 'search_code', { repo: 'acme/payments' }),
      fc('r3', 'delete_repo', { repo: 'acme/payments-old' }),
    ],
    [{ text: 'Read the README; search failed; deleting payments-old was refused.' }],
  ]),
  tools: [
    new FunctionTool({
      name: 'get_file',
      description: 'Read the README of a repository',
      parameters: repoSchema,
      execute: async ({ repo: r }) => ({ text: `# ${r}: payments service` }),
    }),
    new FunctionTool({
      name: 'search_code',
      description: 'Search the code of a repository',
      parameters: repoSchema,
      execute: async () => {
        throw new Error('GitHub search rate limit exceeded; retry in 42 s');
      },
    }),
    new FunctionTool({
      name: 'delete_repo',
      description: 'Delete a repository',
      parameters: repoSchema,
      execute: async ({ repo: r }) => ({ deleted: r }),
    }),
  ],
});
const planner = new LlmAgent({
  name: 'planner',
  description: 'Hands repository work to the researcher.',
  model: new ScriptedLlm('planner', [[fc('p1', 'transfer_to_agent', { agentName: 'researcher' })]]),
  subAgents: [researcher],
});
const runner = new InMemoryRunner({
  agent: planner,
  appName: 'provenant-example',
  plugins: [provenant.plugin()],
});

const taskId = `adk-${Date.now()}`;
step('alice', 'asks the planner to clean up acme/payments');
const adkSession = await runner.sessionService.createSession({
  appName: 'provenant-example',
  userId: 'alice',
});
await recorder.session({ initiatorToken: w.alice, taskId, prompt: 'clean up' }, () =>
  // ADK's OpenTelemetry spans (when an SDK is registered) join the session's trace.
  provenant.inTrace(async () => {
    for await (const e of runner.runAsync({
      userId: 'alice',
      sessionId: adkSession.id,
      newMessage: { role: 'user', parts: [{ text: 'Clean up acme/payments.' }] },
    })) {
      const text = e.content?.parts?.find((p) => p.text)?.text;
      if (text) step(e.author ?? 'agent', `answers: ${text}`);
    }
  }),
);
await recorder.drain(10_000);
await recorder.close();
await w.print(taskId);
await w.close();
