#!/usr/bin/env node
// `npm run example:a2a`: the A2A pair. A collector (here, in this process), the researcher agent
// and the planner agent each in their own process, each agent with its own identity. alice's
// credential goes to the planner; the planner asks the researcher over A2A with a credential
// addressed to it, and the researcher's tool call is verified with the chain alice → planner →
// researcher. Two more requests, without a credential and with one addressed to another agent,
// are refused and recorded. Scripted: no model, no network beyond loopback, no API key.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { step, world } from '../lib/world.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const w = await world('a2a');
const summarizer = await w.agent('summarizer', '5b1e');
const keys = mkdtempSync(join(tmpdir(), 'provenant-a2a-keys-'));
const keyFile = (name, identity) => {
  const file = join(keys, `${name}.key.json`);
  writeFileSync(file, JSON.stringify(identity), { mode: 0o600 });
  return file;
};

const researcher = spawn(process.execPath, [join(here, 'researcher.js')], {
  env: { ...process.env, PROVENANT_URL: w.url, IDENTITY_FILE: keyFile('researcher', w.researcher) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const researcherUrl = await new Promise((resolve, reject) => {
  let out = '';
  researcher.stdout.on('data', (chunk) => {
    out += chunk;
    const m = /listening (\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  researcher.once('exit', (code) => reject(new Error(`the researcher exited (${code})`)));
});
step('researcher', `serves A2A at ${researcherUrl} (process ${researcher.pid})`);

const planner = spawn(process.execPath, [join(here, 'planner.js')], {
  env: {
    ...process.env,
    PROVENANT_URL: w.url,
    IDENTITY_FILE: keyFile('planner', w.planner),
    PROVENANT_INITIATOR_TOKEN: w.alice,
    RESEARCHER_URL: researcherUrl,
    RESEARCHER_ID: w.researcher.principal,
    OTHER_AGENT_ID: summarizer.principal,
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
planner.stdout.on('data', (chunk) => (out += chunk));
const code = await new Promise((resolve) => planner.once('exit', resolve));
if (code !== 0) throw new Error(`the planner exited (${code})`);
const run = JSON.parse(out.trim().split('\n').at(-1));
step(
  'planner',
  `(process ${planner.pid}) asked with a credential for the researcher → ${run.delegated.ok ? `"${run.delegated.text.split('\n')[0]}"` : run.delegated.error}`,
);
step('planner', `asked with no credential → refused: ${run.noCredential.code}`);
step('planner', `asked with one for the summarizer → refused: ${run.wrongAudience.code}`);

researcher.kill('SIGTERM');
await new Promise((resolve) => researcher.once('exit', resolve));

// Both agents' records share the planner's trace: the researcher continued it (traceparent).
const trace = await (
  await fetch(`${w.url}/v1/events?trace_id=${run.traceId}&limit=1000`, { headers: w.admin })
).json();
const events = trace.events;
console.log(`\n${events.length} records in trace ${run.traceId}:\n`);
for (const e of events) {
  const chain = (e.delegation ?? []).map((h) => h.to.split('/')[4] ?? h.to).join(' → ');
  console.log(
    `  ${e.type.padEnd(16)} ${(e.actor?.agent ?? '').padEnd(11)} ${`${e.action?.name ?? ''} ${e.action?.resource ?? ''}`.padEnd(34)} ${(e.outcome?.status ?? '').padEnd(8)} ${(e.attribution?.level ?? '').padEnd(9)} ${chain ? `alice → ${chain}` : ''}`,
  );
}
const tool = events.find((e) => e.type === 'tool.called' && e.outcome?.status === 'success');
if (tool) {
  const p = await (
    await fetch(`${w.url}/v1/events/${tool.id}/provenance`, { headers: w.admin })
  ).json();
  console.log(`\nprovenance of the researcher's ${tool.action.name} (${tool.id}):`);
  for (const line of p.narrative) console.log(`  ${line}`);
  const failed = p.checks.filter((c) => !c.ok).map((c) => c.id);
  console.log(
    `  checks: ${p.checks.length - failed.length}/${p.checks.length} ✓${failed.length ? `  ✗ ${failed.join(', ')}` : ''}`,
  );
}
const refusals = await (
  await fetch(
    `${w.url}/v1/events?type=agent.invoked&actor=${encodeURIComponent(w.researcher.principal)}&limit=100`,
    { headers: w.admin },
  )
).json();
console.log('\nrefusals the researcher recorded (under its own credential):');
for (const e of refusals.events.filter((x) => x.outcome?.status === 'denied')) {
  console.log(
    `  ${e.id}  ${e.outcome.error.code}  ${e.attribution.level}  presented by ${e.action.args['presented.actor'] ?? 'nobody'}`,
  );
}
await w.close();
