#!/usr/bin/env node
// `npm run example:langchain`: LangChain.js v1 agents in a LangGraph graph, with the framework's
// own fake model (no network, no API key). alice asks the planner agent (a graph node), which
// reads a file; the researcher agent (the next node, a sub-graph of its own) reads a file
// (allowed), searches code (the tool fails) and tries to delete the repository (denied by
// policy: the model gets an error ToolMessage). Every record is verified; the researcher's
// carry the chain alice → planner → researcher.
import { END, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { fakeModel } from '@langchain/core/testing';
import { AIMessage, ToolMessage, createAgent, tool, toolErrorMiddleware } from 'langchain';
import { z } from 'zod';
import { createRecorder } from '@provenant/sdk';
import { langChainProvenance } from '@provenant/sdk/langchain';
import { step, world } from '../lib/world.js';

const w = await world('langchain');
const recorder = createRecorder({
  collectorUrl: w.url,
  identity: w.planner,
  agent: { name: 'planner' },
  spool: false,
});
const repo = (i) => `repo:${i.repo}`;
const provenant = langChainProvenance(recorder, {
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
const getFile = tool(async ({ repo: r }) => `# ${r}/README.md: payments service`, {
  name: 'get_file',
  description: 'Read the README of a repository',
  schema: repoSchema,
});
const searchCode = tool(
  async () => {
    throw new Error('GitHub search rate limit exceeded; retry in 42 s');
  },
  { name: 'search_code', description: 'Search the code of a repository', schema: repoSchema },
);
const deleteRepo = tool(async ({ repo: r }) => `deleted ${r}`, {
  name: 'delete_repo',
  description: 'Delete a repository',
  schema: repoSchema,
});
// The framework turns a tool's throw into an error ToolMessage for the model; Provenant, the
// outer middleware, records it as the call's error.
const toolErrors = toolErrorMiddleware({ onError: (e) => `The tool failed: ${e.message}` });

// A scripted model per agent; explicit message ids, since both share the graph's messages.
const ai = (id, content, toolCalls = []) => new AIMessage({ id, content, tool_calls: toolCalls });
const planner = createAgent({
  name: 'planner',
  model: fakeModel()
    .respond(ai('p1', '', [{ name: 'get_file', args: { repo: 'acme/payments' }, id: 'p-call-1' }]))
    .respond(ai('p2', 'The researcher takes it from here.')),
  tools: [getFile],
  middleware: [provenant.middleware(), toolErrors],
});
const researcher = createAgent({
  name: 'researcher',
  model: fakeModel()
    .respond(
      ai('r1', '', [
        { name: 'get_file', args: { repo: 'acme/payments' }, id: 'r-call-1' },
        { name: 'search_code', args: { repo: 'acme/payments' }, id: 'r-call-2' },
        { name: 'delete_repo', args: { repo: 'acme/payments-old' }, id: 'r-call-3' },
      ]),
    )
    .respond(ai('r2', 'Read it; search failed; deleting payments-old was refused.')),
  tools: [getFile, searchCode, deleteRepo],
  middleware: [provenant.middleware({ agent: 'researcher' }), toolErrors],
});
const graph = new StateGraph(MessagesAnnotation)
  .addNode('planner', planner.graph)
  .addNode('researcher', researcher.graph)
  .addEdge(START, 'planner')
  .addEdge('planner', 'researcher')
  .addEdge('researcher', END)
  .compile();

const taskId = `langchain-${Date.now()}`;
step('alice', 'asks the planner to clean up acme/payments');
const out = await recorder.session({ initiatorToken: w.alice, taskId, prompt: 'clean up' }, () =>
  graph.invoke(
    { messages: [{ role: 'user', content: 'Clean up acme/payments.' }] },
    provenant.runConfig(), // the W3C traceparent in the run's metadata
  ),
);
for (const m of out.messages) {
  if (ToolMessage.isInstance(m))
    step('tool', `${m.name} → ${m.status ?? 'success'}: ${String(m.content).slice(0, 90)}`);
  else if (m.type === 'ai' && m.content) step('agent', String(m.content));
}
await recorder.drain(10_000);
await recorder.close();
await w.print(taskId);
await w.close();
