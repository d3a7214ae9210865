#!/usr/bin/env node
// OTLP ingest (issue 9): OpenTelemetry GenAI spans per second mapped and stored through
// `POST /v1/traces`, against the very same records posted natively to `POST /v1/events`, in the
// same run, each on a fresh collector (a child process, durable acks) over keep-alive connections.
//
//   node bench/otlp.js [--quick] [--no-write] [--spans N] [--connections N]
//
// The spans come from the official SDK (@opentelemetry/sdk-trace-node) and are serialized by
// the exporters' own serializer (@opentelemetry/otlp-transformer), so the bodies are the bytes
// an OTLP exporter sends: batches of 512 spans (the BatchSpanProcessor default), each trace an
// invoke_agent span with four execute_tool children. The native bodies hold the records the
// receiver's mapping makes of those spans, as JSON arrays of the same batch size.
// Needs a build first: `npx tsc -b`.
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { decodeTraceRequest, mapSpans, prepareRecord } from '@provenant/server/offline';
import { keepAliveAgent, runConcurrently, send } from './lib/http.js';
import {
  fmtInt,
  machine,
  msSince,
  now,
  procCpu,
  removeDir,
  startCollector,
  tempDir,
  writeSection,
} from './lib/util.js';

const BATCH = 512;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    spans: { type: 'string' },
    connections: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log('node bench/otlp.js [--quick] [--spans N] [--connections N]');
  process.exit(0);
}
const quick = values.quick;
const SPANS = Number(values.spans ?? (quick ? 10_240 : 102_400));
const WARMUP = quick ? 2_048 : 10_240;
const CONNECTIONS = Number(values.connections ?? 4);
const ROUNDS = quick ? 1 : 2;
const say = (s) => process.stderr.write(`${s}\n`);

/** `count` GenAI spans from the real SDK, in export batches of BATCH. */
function genAiBatches(count, label) {
  const memory = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('bench-genai', '1.0.0');
  const batches = [];
  let made = 0;
  let n = 0;
  while (made < count) {
    const agent = `spiffe://bench.test/agent/researcher/instance/${label}${n % 64}`;
    const root = tracer.startSpan('invoke_agent researcher', {
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.id': agent,
        'gen_ai.agent.name': 'researcher',
        'gen_ai.conversation.id': `conv-${label}-${n}`,
        'gen_ai.request.model': 'gpt-bench',
        'enduser.id': `user${n % 100}`,
      },
    });
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    for (let t = 0; t < 4; t++) {
      const tool = tracer.startSpan(
        'execute_tool get_file',
        {
          attributes: {
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': 'get_file',
            'gen_ai.tool.call.id': `call_${n}_${t}`,
            'gen_ai.tool.call.arguments': JSON.stringify({ path: `src/${n}/${t}.ts` }),
          },
        },
        ctx,
      );
      tool.end();
    }
    root.end();
    made += 5;
    n++;
  }
  const spans = memory.getFinishedSpans().slice(0, count);
  for (let i = 0; i < spans.length; i += BATCH) batches.push(spans.slice(i, i + BATCH));
  return batches;
}

/** The request bodies of every mode, for the same spans. */
function bodies(batches) {
  const modes = { native: [], protobuf: [], 'protobuf+gzip': [], json: [] };
  for (const batch of batches) {
    const proto = Buffer.from(ProtobufTraceSerializer.serializeRequest(batch));
    const records = mapSpans(decodeTraceRequest(proto)).map((m) => m.record);
    modes.native.push({ body: Buffer.from(JSON.stringify(records)), n: records.length });
    modes.protobuf.push({ body: proto, n: batch.length });
    modes['protobuf+gzip'].push({ body: gzipSync(proto), n: batch.length });
    modes.json.push({
      body: Buffer.from(JsonTraceSerializer.serializeRequest(batch)),
      n: batch.length,
    });
  }
  return modes;
}

const ROUTES = {
  native: { path: '/v1/events', type: 'application/json' },
  protobuf: { path: '/v1/traces', type: 'application/x-protobuf' },
  'protobuf+gzip': { path: '/v1/traces', type: 'application/x-protobuf', encoding: 'gzip' },
  json: { path: '/v1/traces', type: 'application/json' },
};

async function post(agent, url, mode, { body, n }) {
  const route = ROUTES[mode];
  const res = await send(agent, `${url}${route.path}`, {
    method: 'POST',
    body,
    headers: {
      'content-type': route.type,
      'content-length': body.length,
      ...(route.encoding ? { 'content-encoding': route.encoding } : {}),
    },
  });
  if (res.status !== 200)
    throw new Error(`${mode} answered ${res.status}: ${res.body.slice(0, 300)}`);
  if (mode === 'native') {
    const answer = JSON.parse(res.body);
    if (answer.accepted.length !== n)
      throw new Error(`native accepted ${answer.accepted.length}/${n}`);
  } else if (mode === 'json' ? res.body !== '{}' : res.body !== '') {
    throw new Error(`${mode} partial success: ${res.body.slice(0, 300)}`);
  }
}

async function measure(mode, warm, timed) {
  const dir = tempDir(`otlp-${mode.replace('+', '-')}`);
  // The spans carry no credential: recorded as asserted (anonymous ingest is off by default).
  const collector = await startCollector(dir, { args: ['--anonymous-ingest', 'asserted'] });
  const agent = keepAliveAgent(CONNECTIONS);
  try {
    await runConcurrently(warm.length, CONNECTIONS, (i) =>
      post(agent, collector.url, mode, warm[i]),
    );
    const cpu0 = procCpu(collector.pid);
    const start = now();
    await runConcurrently(timed.length, CONNECTIONS, (i) =>
      post(agent, collector.url, mode, timed[i]),
    );
    const ms = msSince(start);
    const cpu1 = procCpu(collector.pid);
    const spans = timed.reduce((s, b) => s + b.n, 0);
    // Collector CPU per span: far steadier than wall-clock throughput on a shared machine.
    const cpuUs = ((cpu1.user - cpu0.user + cpu1.system - cpu0.system) / spans) * 1e6;
    // The log's size is health's detail, shown to a role: read it with the admin token.
    const adminToken = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
    const health = JSON.parse(
      (
        await send(agent, `${collector.url}/healthz`, {
          headers: { authorization: `Bearer ${adminToken}` },
        })
      ).body,
    );
    const expected = warm.reduce((s, b) => s + b.n, 0) + spans;
    if (health.log.size < expected) {
      throw new Error(`${mode}: the log holds ${health.log.size} entries, expected ${expected}`);
    }
    const bytes = timed.reduce((s, b) => s + b.body.length, 0) / timed.length;
    return { mode, spans, ms, perSec: (spans / ms) * 1000, bodyBytes: bytes, cpuUs };
  } finally {
    agent.destroy();
    await collector.stop();
    removeDir(dir);
  }
}

/** In-process, one core, no I/O: decode + map + prepare (validate, attribute, canonicalize, hash). */
function mappingCost(batches) {
  const protos = batches.map((b) => Buffer.from(ProtobufTraceSerializer.serializeRequest(b)));
  const natives = protos.map((p) =>
    JSON.stringify(mapSpans(decodeTraceRequest(p)).map((m) => m.record)),
  );
  const spans = batches.reduce((s, b) => s + b.length, 0);
  // Best of 5 after a warm-up: the least disturbed run on a shared machine.
  const time = (fn) => {
    fn();
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const start = now();
      fn();
      best = Math.min(best, msSince(start));
    }
    return (spans / best) * 1000;
  };
  const otlp = time(() => {
    for (const p of protos) {
      for (const m of mapSpans(decodeTraceRequest(p))) prepareRecord(m.record);
    }
  });
  const native = time(() => {
    for (const text of natives) for (const r of JSON.parse(text)) prepareRecord(r);
  });
  const decodeOnly = time(() => {
    for (const p of protos) mapSpans(decodeTraceRequest(p));
  });
  return { otlp, native, decodeOnly };
}

const m = machine();
say(
  `otlp: ${fmtInt(SPANS)} GenAI spans per mode (after ${fmtInt(WARMUP)} warm-up) in batches of ` +
    `${BATCH}, ${CONNECTIONS} connections, ${ROUNDS} round(s); ${m.nproc} cores, ${m.model}, node ${m.node}`,
);
const warm = bodies(genAiBatches(WARMUP, 'w'));
const batches = genAiBatches(SPANS, 't');
const timed = bodies(batches);
const results = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of Object.keys(ROUTES)) {
    const r = await measure(mode, warm[mode], timed[mode]);
    say(
      `  ${mode}: ${fmtInt(r.spans)} in ${(r.ms / 1000).toFixed(2)} s = ${fmtInt(r.perSec)}/s, ` +
        `collector CPU ${r.cpuUs.toFixed(1)} µs/span`,
    );
    results.push(r);
  }
}
const best = (mode) =>
  results.filter((r) => r.mode === mode).reduce((a, b) => (b.perSec > a.perSec ? b : a));
const native = best('native');
const leastCpu = (mode) => Math.min(...results.filter((r) => r.mode === mode).map((r) => r.cpuUs));
const cpu = mappingCost(batches.slice(0, quick ? 8 : 40));

const rows = [
  ['mode', 'route', 'body (avg)', 'records/s', 'vs native', 'collector CPU/span', 'vs native'],
  ...Object.keys(ROUTES).map((mode) => {
    const r = best(mode);
    return [
      mode === 'native' ? 'native records (JSON array)' : `OTLP ${mode}`,
      ROUTES[mode].path,
      `${fmtInt(r.bodyBytes / 1024)} KiB`,
      fmtInt(r.perSec),
      mode === 'native' ? '1.00' : (r.perSec / native.perSec).toFixed(2),
      `${leastCpu(mode).toFixed(1)} µs`,
      (leastCpu(mode) / leastCpu('native')).toFixed(2),
    ];
  }),
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(
  `\nOTLP ingest, ${fmtInt(SPANS)} GenAI spans per mode, batches of ${BATCH}, ${CONNECTIONS} ` +
    `keep-alive connections, fresh SQLite collector per mode (durable acks), best of ${ROUNDS}\n(records/s: highest; collector CPU (user + system) per span: lowest):\n`,
);
const tableText = [
  line(rows[0]),
  `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
  ...rows.slice(1).map(line),
].join('\n');
console.log(tableText);
const inProcess =
  `In-process, one core, no storage: decode + map ${fmtInt(cpu.decodeOnly)} spans/s; ` +
  `decode + map + prepare ${fmtInt(cpu.otlp)} spans/s vs JSON.parse + prepare of the same ` +
  `records ${fmtInt(cpu.native)} records/s.`;
console.log(`\n${inProcess}`);
if (!values['no-write']) {
  const m = machine();
  const file = writeSection(
    'otlp',
    `## OpenTelemetry ingest (issue 9)

- date: ${new Date().toUTCString()}
- machine: ${m.nproc} × ${m.model}, ${m.ramGiB.toFixed(1)} GiB RAM, Node ${m.node}
- command: \`node bench/otlp.js${quick ? ' --quick' : ''}\` (from \`npm run bench\`)

${tableText}

${fmtInt(SPANS)} GenAI spans per mode from the official SDK (\`@opentelemetry/sdk-trace-node\`), serialized by the exporters' own serializers into bodies of ${BATCH} spans, posted over ${CONNECTIONS} keep-alive connections to a fresh collector child process per mode (durable acks), best of ${ROUNDS}; the native mode posts the very records the receiver's mapping makes of those spans to \`POST /v1/events\`. Records/s swings with the machine's load; the collector CPU per span (user + system, lowest run) is the steadier comparison. ${inProcess}`,
  );
  console.log(`recorded in ${file}`);
}
