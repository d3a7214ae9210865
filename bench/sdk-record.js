#!/usr/bin/env node
// Runs bench/sdk.js (issue 5) and records its table in its own section of docs/BENCHMARKS.md.
//   node bench/sdk-record.js [--quick] [--no-write]
import { parseArgs } from 'node:util';
import { run, table } from './sdk.js';
import { machine, msSince, now, writeSection } from './lib/util.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const t0 = now();
const r = await run({ quick: values.quick });
const t = table(r);
console.log(`\n${t}\n`);
const m = machine();
const section = `## Agent SDK (issue 5)

- date: ${new Date().toUTCString()}
- machine: ${m.nproc} × ${m.model}, ${m.ramGiB.toFixed(1)} GiB RAM, Node ${m.node}
- command: \`node bench/sdk-record.js${values.quick ? ' --quick' : ''}\` (from \`npm run bench\`; total ${(msSince(t0) / 60_000).toFixed(1)} min)

${t}

Hot path: one wrapped no-op tool call with the decision from an injected in-process decision point (no network on the hot path), measured beside pino logging the same ~1 KB object to /dev/null and an OpenTelemetry span with 15 attributes ended under a BatchSpanProcessor, in the same process and run, with yields between iterations; "caller cost" is the time the calling code waits, "total CPU" adds the background batching and sending. Sustained: a separate agent process records tool calls as fast as it can to a local collector; every record is counted in the ledger at the end.`;
if (!values['no-write']) console.log(`recorded in ${writeSection('sdk', section)}`);
