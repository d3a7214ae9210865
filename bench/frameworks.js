#!/usr/bin/env node
// The agent-framework integrations (issue 20): what Provenant adds to the caller per tool call,
// per framework, beside the same tool calls without Provenant and an OpenTelemetry span with 15
// attributes, all in this process and run.
//
//   node bench/frameworks.js [--quick] [--no-write] [--only openai,langchain,adk,claude]
//                            [--runs N] [--calls K]
//
// Each framework runs a scripted model whose first turn asks for K tool calls of a no-op tool
// (then answers). Three variants of the run alternate R times each in rotating order, after
// untimed warm-up rounds: without Provenant, with a no-op callback at the framework's
// enforcement point, and with Provenant's integration there. Added cost per call =
// (median with − median without) / K; Provenant's own = (median with − median no-op) / K. Provenant's side: an in-process
// decision point (embedded decision, cached per credential, action and resource as in
// production), an in-memory issuer and an exporter that drops records (no I/O). The Claude Agent
// SDK needs its vendor's CLI: its hooks (PreToolUse, PostToolUse) are called as the CLI calls
// them around the tool body. Target: added cost ≤ 2× the span.
//
// Needs a build (`npm run build`).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setMaxListeners } from 'node:events';
import { loadavg } from 'node:os';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { exportJWK, generateKeyPair } from 'jose';
import { z } from 'zod';
import { createRecorder } from '@provenant/sdk';
import { memoryIssuer } from '@provenant/sdk/testing';
import { ROOT, machine, msSince, now, writeSection } from './lib/util.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    only: { type: 'string' },
    runs: { type: 'string' },
    calls: { type: 'string' },
  },
});
const ONLY = values.only ? new Set(values.only.split(',')) : null;
const K = values.calls ? Number(values.calls) : 50;
// LangGraph races each of a step's tool calls against the step's abort signal (one listener
// per call, removed when the call ends): K calls at once are K listeners on one signal, above
// Node's warning threshold of 10 with or without Provenant (not a leak: the SDK's
// test/frameworks.test.ts counts them). Signals made from here on warn above K + 10 instead.
setMaxListeners(K + 10);
const RUNS = values.runs ? Number(values.runs) : values.quick ? 10 : 60;
const WARMUP = values.quick ? 10 : 40;
const t0 = now();
const load0 = loadavg()[0];

// ---- Provenant's side: embedded decisions, in-memory issuer, records dropped --------------
const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
const identity = {
  principal: 'spiffe://acme.test/agent/planner/instance/bench',
  jwk: { ...(await exportJWK(privateKey)), alg: 'EdDSA' },
};
const issuer = memoryIssuer();
const dropped = { n: 0 };
const recorder = createRecorder({
  identity,
  issuer,
  exporter: {
    export: async (batch) =>
      void ((dropped.n += batch.records.length), (dropped.batches = (dropped.batches ?? 0) + 1)),
    forceFlush: async () => {},
    shutdown: async () => {},
  },
  pdp: {
    decide: () => ({
      decision: 'allow',
      decisionId: randomUUID(),
      engine: 'embedded',
      determining: [],
    }),
  },
});
const alice = issuer.initiator('user:alice', { scope: ['repo:read'] });
const session = await recorder.session({ initiatorToken: alice, taskId: 'bench-frameworks' });
const TOOLS = {
  get_file: { action: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' },
};
const noop = async () => 'ok';

/**
 * Three runs of the same K tool calls, interleaved: `without` (the framework alone), `hook`
 * (the framework's enforcement point with a callback that does nothing: what the framework
 * itself costs for it) and `withP` (Provenant's integration there). Per call, in µs, from the
 * medians: added = with − without (the target's figure), Provenant's own = with − hook.
 */
async function compare(name, { without, hook, withP }) {
  const variants = { without, hook, withP };
  const wall = { without: [], hook: [], withP: [] };
  const cpu = { without: [], hook: [], withP: [] };
  // Wall time: the run as its caller waits for it. CPU: the run and then the recorder's
  // hand-over of the run's records (built, digested, given to the exporter), which happens
  // after the calls return, off the caller's path, but is still Provenant's work.
  const timed = async (key, keep) => {
    const c = process.cpuUsage();
    const t = performance.now();
    await session.run(variants[key]);
    const w = performance.now() - t;
    await recorder.flush();
    const d = process.cpuUsage(c);
    if (keep) {
      wall[key].push(w);
      cpu[key].push((d.user + d.system) / 1000);
    }
  };
  // Warm-up: every path compiled by the JIT before anything is timed (a few runs were not
  // enough: the first 2,000 calls of a path run slower, the "with" path's more so).
  for (let i = 0; i < WARMUP; i++) for (const key of ORDER) await timed(key, false);
  for (let i = 0; i < RUNS; i++) {
    // The order rotates, so no variant always runs after the same one.
    for (let j = 0; j < ORDER.length; j++) await timed(ORDER[(i + j) % ORDER.length], true);
    await yieldNow();
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const per = (xs) => (med(xs) * 1000) / K;
  const r = {
    name,
    withoutUs: per(wall.without),
    hookUs: per(wall.hook),
    withUs: per(wall.withP),
    withoutCpuUs: per(cpu.without),
    hookCpuUs: per(cpu.hook),
    withCpuUs: per(cpu.withP),
  };
  r.addedUs = r.withUs - r.withoutUs;
  r.addedCpuUs = r.withCpuUs - r.withoutCpuUs;
  r.ownUs = r.withUs - r.hookUs;
  r.ownCpuUs = r.withCpuUs - r.hookCpuUs;
  console.log(
    `${name.padEnd(22)} without ${r.withoutUs.toFixed(1)}, no-op hook ${r.hookUs.toFixed(1)}, with ${r.withUs.toFixed(1)} µs/call: added ${r.addedUs.toFixed(1)} (Provenant's own ${r.ownUs.toFixed(1)}); CPU added ${r.addedCpuUs.toFixed(1)} (own ${r.ownCpuUs.toFixed(1)}) µs/call`,
  );
  return r;
}
const ORDER = ['without', 'hook', 'withP'];

// ---- OpenAI Agents SDK ----------------------------------------------------------------
async function openaiAgents() {
  const { Agent, Runner, Usage, setTracingDisabled, tool } = await import('@openai/agents');
  const { openAIAgentsProvenance } = await import('@provenant/sdk/openai-agents');
  setTracingDisabled(true);
  const provenant = openAIAgentsProvenance(recorder, { tools: TOOLS });
  const calls = Array.from({ length: K }, (_, i) => ({
    type: 'function_call',
    callId: `c${i}`,
    name: 'get_file',
    arguments: '{"repo":"acme/payments"}',
    status: 'completed',
  }));
  const text = {
    type: 'message',
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text: 'done' }],
  };
  const model = () => {
    let turn = 0;
    return {
      getResponse: async () => ({ usage: new Usage(), output: turn++ === 0 ? calls : [text] }),
      // eslint-disable-next-line require-yield -- never streamed
      async *getStreamedResponse() {
        throw new Error('not streamed');
      },
    };
  };
  const spec = {
    name: 'get_file',
    description: 'read',
    parameters: z.object({ repo: z.string() }),
    execute: noop,
  };
  const plain = tool(spec);
  // The enforcement point doing nothing: an input guardrail that allows every call.
  const allowAll = { name: 'allow', run: async () => ({ behavior: { type: 'allow' } }) };
  const guarded = tool({ ...spec, inputGuardrails: [allowAll] });
  const recorded = provenant.tool(spec);
  const runner = provenant.attach(new Runner({ tracingDisabled: true }));
  const runWith = (t) => () =>
    runner.run(new Agent({ name: 'planner', model: model(), tools: [t] }), 'go');
  return compare('OpenAI Agents SDK', {
    without: runWith(plain),
    hook: runWith(guarded),
    withP: runWith(recorded),
  });
}

// ---- LangChain.js v1 -----------------------------------------------------------------
async function langchain() {
  const { AIMessage, createAgent, createMiddleware, tool } = await import('langchain');
  const { fakeModel } = await import('@langchain/core/testing');
  const { langChainProvenance } = await import('@provenant/sdk/langchain');
  const provenant = langChainProvenance(recorder, { tools: TOOLS });
  const getFile = tool(noop, {
    name: 'get_file',
    description: 'read',
    schema: z.object({ repo: z.string() }),
  });
  const calls = Array.from({ length: K }, (_, i) => ({
    name: 'get_file',
    args: { repo: 'acme/payments' },
    id: `c${i}`,
  }));
  // One agent per variant, built once (compiling the graph is not a tool call's cost): its
  // scripted model holds a turn of K calls and an answer for every run.
  const agent = (middleware) => {
    let model = fakeModel();
    for (let i = 0; i < WARMUP + RUNS; i++) {
      model = model.respond(new AIMessage({ content: '', tool_calls: calls }));
      model = model.respond(new AIMessage('done'));
    }
    return createAgent({ model, tools: [getFile], middleware });
  };
  const runWith = (middleware) => {
    const a = agent(middleware);
    return () => a.invoke({ messages: [{ role: 'user', content: 'go' }] });
  };
  // The enforcement point doing nothing: a wrapToolCall middleware that calls the handler.
  const passThrough = createMiddleware({
    name: 'pass-through',
    wrapToolCall: (request, handler) => handler(request),
  });
  return compare('LangChain.js v1', {
    without: runWith([]),
    hook: runWith([passThrough]),
    withP: runWith([provenant.middleware()]),
  });
}

// ---- Google ADK ------------------------------------------------------------------------
async function adk() {
  const { BaseLlm, BasePlugin, FunctionTool, InMemoryRunner, LlmAgent, LogLevel, setLogLevel } =
    await import('@google/adk');
  const { adkProvenance } = await import('@provenant/sdk/adk');
  setLogLevel(LogLevel.ERROR);
  const provenant = adkProvenance(recorder, { tools: TOOLS });
  const parts = Array.from({ length: K }, (_, i) => ({
    functionCall: { id: `c${i}`, name: 'get_file', args: { repo: 'acme/payments' } },
  }));
  class Scripted extends BaseLlm {
    constructor() {
      super({ model: 'scripted' });
      this.turn = 0;
    }
    async *generateContentAsync() {
      yield { content: { role: 'model', parts: this.turn++ === 0 ? parts : [{ text: 'done' }] } };
    }
    async connect() {
      throw new Error('no live connection');
    }
  }
  const getFile = new FunctionTool({
    name: 'get_file',
    description: 'read',
    parameters: z.object({ repo: z.string() }),
    execute: async () => ({ text: 'ok' }),
  });
  const runWith = (plugins) => async () => {
    const runner = new InMemoryRunner({
      agent: new LlmAgent({ name: 'planner', model: new Scripted(), tools: [getFile] }),
      appName: 'bench',
      plugins,
    });
    const s = await runner.sessionService.createSession({ appName: 'bench', userId: 'a' });
    for await (const event of runner.runAsync({
      userId: 'a',
      sessionId: s.id,
      newMessage: { role: 'user', parts: [{ text: 'go' }] },
    }))
      void event;
  };
  // The enforcement point doing nothing: a plugin whose tool callbacks return nothing.
  class Nothing extends BasePlugin {
    constructor() {
      super('nothing');
    }
    async beforeToolCallback() {
      return undefined;
    }
    async afterToolCallback() {
      return undefined;
    }
    async onToolErrorCallback() {
      return undefined;
    }
  }
  return compare('Google ADK', {
    without: runWith([]),
    hook: runWith([new Nothing()]),
    withP: runWith([provenant.plugin()]),
  });
}

// ---- Claude Agent SDK (its hooks, as the CLI calls them) --------------------------------
async function claude() {
  const { claudeAgentProvenance } = await import('@provenant/sdk/claude-agent');
  const provenant = claudeAgentProvenance(recorder, {
    tools: { mcp__github__get_file: TOOLS.get_file },
  });
  const signal = AbortSignal.timeout(3_600_000);
  const base = { session_id: 's', transcript_path: '/dev/null', cwd: '/' };
  const input = { repo: 'acme/payments' };
  const fire = async (options, event) => {
    for (const m of options.hooks[event.hook_event_name])
      for (const h of m.hooks) await h(event, event.tool_use_id, { signal });
  };
  // The enforcement point doing nothing: the same events fired at hooks that do nothing (what
  // calling a hook costs here, not Provenant).
  const nothing = async () => ({});
  const noHooks = {
    hooks: { PreToolUse: [{ hooks: [nothing] }], PostToolUse: [{ hooks: [nothing] }] },
  };
  let options;
  const fired = (get) => async () => {
    options = get();
    for (let i = 0; i < K; i++) {
      const id = `toolu_${i}`;
      const ev = {
        ...base,
        tool_name: 'mcp__github__get_file',
        tool_input: input,
        tool_use_id: id,
      };
      await fire(options, { ...ev, hook_event_name: 'PreToolUse' });
      const out = await noop();
      await fire(options, { ...ev, hook_event_name: 'PostToolUse', tool_response: out });
    }
  };
  const without = async () => {
    for (let i = 0; i < K; i++) await noop();
  };
  let made;
  return compare('Claude Agent SDK hooks', {
    without,
    hook: fired(() => noHooks),
    withP: fired(() => (made ??= provenant.options())),
  });
}

// ---- the floor: an OpenTelemetry span with 15 attributes ---------------------------------
async function span() {
  const processor = new BatchSpanProcessor(
    { export: (_s, cb) => cb({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} },
    { maxQueueSize: 4096, maxExportBatchSize: 512 },
  );
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('bench');
  const attrs = {};
  for (let k = 0; k < 15; k++) attrs[`attr.${k}`] = k % 3 === 0 ? k : `value-${k}`;
  const n = values.quick ? 20_000 : 200_000;
  for (let i = 0; i < 5000; i++)
    tracer.startSpan('execute_tool get_file', { attributes: attrs }).end();
  let inside = 0;
  const c0 = process.cpuUsage();
  for (let done = 0; done < n; done += 1000) {
    const t = performance.now();
    for (let i = 0; i < 1000; i++)
      tracer.startSpan('execute_tool get_file', { attributes: attrs }).end();
    inside += performance.now() - t;
    await yieldNow();
  }
  const c = process.cpuUsage(c0);
  await provider.shutdown();
  const us = (inside * 1000) / n;
  const cpuUs = (c.user + c.system) / n;
  console.log(
    `OpenTelemetry span (15 attributes): ${us.toFixed(2)} µs (CPU ${cpuUs.toFixed(2)} µs)`,
  );
  return { us, cpuUs };
}

const spanUs = await span();
const results = [];
for (const [key, f] of [
  ['openai', openaiAgents],
  ['langchain', langchain],
  ['adk', adk],
  ['claude', claude],
])
  if (!ONLY || ONLY.has(key)) results.push(await f());
const spanAfterUs = await span();
await recorder.close();
const floor = Math.min(spanUs.us, spanAfterUs.us);
const floorCpu = Math.min(spanUs.cpuUs, spanAfterUs.cpuUs);
const load1 = loadavg()[0];

const times = (us, base) => `${us.toFixed(1)} (${(us / base).toFixed(1)}×)`;
const yes = (us, base) => (us <= 2 * base ? 'yes' : 'no');
const rows = results.map(
  (r) =>
    `| ${r.name} | ${r.withoutUs.toFixed(1)} | ${r.hookUs.toFixed(1)} | ${r.withUs.toFixed(1)} | ${times(r.addedUs, floor)} | ${times(r.addedCpuUs, floorCpu)} | ${times(r.ownUs, floor)} / ${times(r.ownCpuUs, floorCpu)} | ${yes(r.addedUs, floor)} / ${yes(r.addedCpuUs, floorCpu)} |`,
);
const table = [
  `OpenTelemetry span with 15 attributes (BatchSpanProcessor, no-op exporter): caller time ${spanUs.us.toFixed(2)} µs before the frameworks, ${spanAfterUs.us.toFixed(2)} µs after (CPU ${spanUs.cpuUs.toFixed(2)} / ${spanAfterUs.cpuUs.toFixed(2)} µs); target per call ≤ 2 × ${floor.toFixed(2)} = ${(2 * floor).toFixed(2)} µs caller time (CPU ≤ ${(2 * floorCpu).toFixed(2)} µs). Multiples (×) are of the span.`,
  '',
  "| framework | without Provenant, µs/call | no-op hook, µs/call | with Provenant, µs/call | added (caller time), µs/call | added CPU, µs/call | Provenant's own (with − no-op hook), time / CPU | added ≤ 2× span (time / CPU) |",
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | :-: |',
  ...rows,
].join('\n');
console.log(`\n${table}\n`);
const VERSIONS = [
  '@openai/agents',
  'langchain',
  '@langchain/langgraph',
  '@google/adk',
  '@anthropic-ai/claude-agent-sdk',
]
  .map((p) => {
    const file = join(ROOT, 'node_modules', p, 'package.json');
    return `${p} ${JSON.parse(readFileSync(file, 'utf8')).version}`;
  })
  .join(', ');
const m = machine();
const section = `## Agent framework integrations (issue 20)

- date: ${new Date().toUTCString()}
- machine: ${m.nproc} × ${m.model}, ${m.ramGiB.toFixed(1)} GiB RAM, Node ${m.node}; load average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end${load0 > 0.5 ? ' (the machine was not idle: other work shared its cores)' : ''}
- command: \`node bench/frameworks.js${values.quick ? ' --quick' : ''}\` (from \`npm run bench\`; total ${(msSince(t0) / 60_000).toFixed(1)} min)

${table}

Each framework runs a scripted model whose first turn asks for ${K} calls of a no-op tool, then
answers. Three runs of it alternate ${RUNS} times (after ${WARMUP} untimed rounds, so that every
path is compiled before it is timed), in rotating order: without Provenant, with the
framework's enforcement point given a callback that does nothing (an input guardrail that
allows, a pass-through \`wrapToolCall\` middleware, a plugin whose tool callbacks return
nothing, hooks that return \`{}\`), and with Provenant's integration there. Per call, from the
medians over ${K}: added = with − without (what the target is about), Provenant's own = with −
no-op hook (what the integration itself costs, beside what the framework charges for having
an enforcement point at all). The tool calls are decided in-process (an
embedded decision point, each decision cached per credential, action and resource as the
recorder does in production), credentials come from the in-memory issuer and records go to an
exporter that drops them, so no I/O is measured; the Claude Agent SDK's CLI needs Anthropic's
service, so its PreToolUse and PostToolUse hooks are called as the CLI calls them around the
tool body. "Without" is the framework's own cost of a tool call (for the Claude hooks: the tool
body alone). Versions: ${VERSIONS}. The caller time is wall time; "CPU" is the process
CPU time over the same runs and the recorder's hand-over of their records after them (the
records are built, digested and given to the exporter after the calls return, off the caller's
path: still Provenant's work, so counted), the steadier measure when other work shares the
cores.`;
if (!values['no-write']) console.log(`recorded in ${writeSection('frameworks', section)}`);
