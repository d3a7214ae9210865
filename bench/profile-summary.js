#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (from `node bench/run.js --cpu-prof DIR`): the functions with the
// most self time, and the inclusive time of each function (where the time goes, top-down).
//   node bench/profile-summary.js FILE.cpuprofile [--top N] [--match REGEX]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '30' }, match: { type: 'string' } },
  allowPositionals: true,
});
const top = Number(values.top);
const match = values.match ? new RegExp(values.match) : null;

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n) => {
    const f = n.callFrame;
    const where = f.url
      ? `${f.url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${f.lineNumber + 1}`
      : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  };
  // Time per sample: the gap to the next one.
  const deltas = profile.timeDeltas;
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (deltas[i + 1] ?? 0) / 1000; // ms
    total += dt;
    let node = byId.get(profile.samples[i]);
    const name = label(node);
    if (node.callFrame.functionName === '(idle)') idle += dt;
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id));
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
    }
  }
  const busy = total - idle;
  const pct = (ms) => `${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
  console.log(
    `${file}: ${total.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy (percentages of busy)`,
  );
  console.log('\nself time:');
  for (const [name, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${name}`);
  }
  console.log('\ninclusive time:');
  for (const [name, ms] of [...inclusive]
    .filter(([n]) => !match || match.test(n))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${name}`);
  }
}
