#!/usr/bin/env node
// The README on a fresh clone, verbatim and in order, as a new user runs it (.ci/run calls this
// after `npm test`): `git clone` of this repository into a temp folder, the quick start
// (`npm install && npm start`, in the background until /healthz answers), every shell block
// of the README in one bash session, the SDK snippet, then `npm run demo` against that
// collector and the hint it prints. What is not run is listed in blocks.js with the reason.
//
//   node test/readme/run.js [--keep] [--reuse DIR]
//     --keep: leave the clone for a look; --reuse DIR: run in a clone --keep left (its files
//     reset with git clean; for working on this script, not for CI)
//
// Fails (exit 1) on the first command that fails or output that lacks what the README says it
// prints; on a collector port (7410) already taken; when `npm install` leaves no
// node_modules/.bin/provenant (npx would fetch the registry's unrelated package); when the
// clone's working tree is not clean afterwards (a key file the examples write not ignored).
// Only the environment is set (a temp PROVENANT_HOME, npm's cache preferred, npx kept offline
// after the install); the commands are the README's bytes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLAN, planFor } from './blocks.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const keep = process.argv.includes('--keep');
const reuse = process.argv.includes('--reuse')
  ? process.argv[process.argv.indexOf('--reuse') + 1]
  : undefined;
const started = Date.now();
const INSTALL_TIMEOUT_MS = 15 * 60_000;

function log(text) {
  process.stdout.write(`readme: [${((Date.now() - started) / 1000).toFixed(0)} s] ${text}\n`);
}

function fail(text) {
  process.stderr.write(`readme: FAILED: ${text}\n`);
  process.exitCode = 1;
  throw new Error(text);
}

function portFree(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function healthy(timeoutMs, child) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) return false;
    try {
      const r = await fetch('http://127.0.0.1:7410/healthz');
      if ((await r.json()).status === 'ok') return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

const root = reuse ?? mkdtempSync(join(tmpdir(), 'provenant-readme-'));
const clone = join(root, 'provenant');
const env = {
  ...process.env,
  PROVENANT_HOME: join(root, 'home'),
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};
for (const k of ['PROVENANT_URL', 'PROVENANT_DATA', 'PROVENANT_TOKEN', 'PROVENANT_PORT'])
  delete env[k];

let server = null;
try {
  if (!(await portFree(7410))) fail('port 7410 is taken: the README runs its collector there');

  if (reuse) {
    log(`reusing ${clone}`);
    spawnSync(
      'git',
      ['clean', '-fdxq', '-e', 'node_modules', '-e', 'dist', '-e', '*.tsbuildinfo'],
      {
        cwd: clone,
        stdio: 'inherit',
      },
    );
    rmSync(join(root, 'home'), { recursive: true, force: true });
  } else {
    log(`git clone ${repo} ${clone}`);
    const cloned = spawnSync('git', ['clone', '--quiet', repo, clone], { stdio: 'inherit' });
    if (cloned.status !== 0) fail('git clone failed');
  }

  // The README of the commit under test, every block of it planned (blocks.js).
  const { paired, unplanned, stale } = planFor(readFileSync(join(clone, 'README.md'), 'utf8'));
  if (unplanned.length > 0 || stale.length > 0) {
    fail(
      `README blocks and test/readme/blocks.js disagree:\n  unplanned: ${unplanned.join('\n  ')}\n  stale: ${stale.join('\n  ')}`,
    );
  }

  // 1. The quick start: its first line verbatim, in the background, until /healthz answers.
  const quick = paired.find((p) => p.plan.run === 'quickstart');
  const [first, ...others] = quick.block.code.split('\n').filter((l) => l.trim() !== '');
  for (const line of others) {
    if (!quick.plan.skipLines?.[line]) fail(`README quick start line not run nor skipped: ${line}`);
    log(`skipped: ${line.trim()} (${quick.plan.skipLines[line]})`);
  }
  log(`$ ${first}`);
  const out = [];
  server = spawn('bash', ['-c', first], { cwd: clone, env, detached: true });
  server.stdout.on('data', (d) => out.push(d));
  server.stderr.on('data', (d) => out.push(d));
  if (!(await healthy(INSTALL_TIMEOUT_MS, server))) {
    fail(`npm install && npm start never answered /healthz:\n${Buffer.concat(out).toString()}`);
  }
  const banner = Buffer.concat(out).toString();
  for (const s of quick.plan.expect) {
    if (!banner.includes(s)) fail(`npm start's output lacks "${s}":\n${banner}`);
  }
  const bin = join(clone, 'node_modules', '.bin', 'provenant');
  if (!existsSync(bin)) fail('npm install left no node_modules/.bin/provenant');
  log('collector up; node_modules/.bin/provenant is linked');

  // 2. The shell blocks in README order, in one bash session; the SDK snippet where planned.
  const cache = join(clone, 'node_modules', '.cache', 'provenant-readme');
  mkdirSync(cache, { recursive: true });
  const steps = [];
  const sdkAfter = new Map();
  for (const { block, plan } of paired) {
    if (plan.run === 'sdk') sdkAfter.set(plan.after, block);
  }
  for (const { block, plan } of paired) {
    if (plan.run === 'skip') {
      log(`skipped: README.md:${block.line} "${plan.key}" (${plan.skip})`);
      continue;
    }
    if (plan.run !== 'shell') continue;
    steps.push({ name: `README.md:${block.line}`, code: block.code, expect: plan.expect ?? [] });
    const sdk = sdkAfter.get(plan.key);
    if (sdk) {
      const file = join(cache, 'sdk-snippet.mjs');
      writeFileSync(file, sdkModule(sdk.code));
      steps.push({
        name: `README.md:${sdk.line} (SDK snippet)`,
        code: `ALICE="$ALICE" node ${JSON.stringify(file)}`,
        expect: [
          'README SDK snippet: github.delete_repo ran for acme/payments',
          'README SDK snippet: recorded github.delete_repo success verified',
        ],
      });
    }
  }
  // 3. npm run demo against npm start's collector, then the first hint it prints, verbatim.
  steps.push({
    name: 'npm run demo',
    code: 'npm run demo',
    expect: ['(the one running;', 'DENIED by forbid-deep-irreversible', 'Inspect it:'],
  });
  const script = ['set -euo pipefail', 'export npm_config_offline=true'];
  // A block's output may not end its last line (curl's): each marker starts a line of its own.
  const marker = (i) => `printf '\\n@@step ${i}@@\\n'`;
  steps.forEach((s, i) => script.push(marker(i), s.code));
  script.push(marker(steps.length));
  log(`running ${steps.length} steps: ${steps.map((s) => s.name).join(', ')}`);
  const run = spawnSync('bash', ['-c', script.join('\n')], {
    cwd: clone,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const output = `${run.stdout}`;
  const parts = output.split(/^@@step (\d+)@@\n/m);
  const outputs = new Map();
  for (let i = 1; i < parts.length; i += 2) outputs.set(Number(parts[i]), parts[i + 1] ?? '');
  for (const [i, s] of steps.entries()) {
    if (!outputs.has(i + 1) && run.status !== 0) {
      fail(`${s.name} failed (exit ${run.status}):\n${outputs.get(i) ?? ''}\n${run.stderr}`);
    }
    for (const e of s.expect) {
      if (!(outputs.get(i) ?? '').includes(e)) {
        fail(`${s.name}: the output lacks "${e}":\n${outputs.get(i)}\n${run.stderr}`);
      }
    }
    log(`ok: ${s.name}`);
  }
  if (run.status !== 0) fail(`bash exited ${run.status}:\n${run.stderr}`);
  const demo = outputs.get(steps.length - 1) ?? '';
  const hint = /^ {2}(npx provenant events [^\n]*--trace-id \S+)$/m.exec(demo)?.[1];
  if (!hint) fail(`npm run demo printed no events hint:\n${demo}`);
  log(`$ ${hint}`);
  const shown = spawnSync('bash', ['-c', hint], { cwd: clone, env, encoding: 'utf8' });
  if (shown.status !== 0 || !shown.stdout.includes('tool.called')) {
    fail(`the demo's hint failed (exit ${shown.status}):\n${shown.stdout}\n${shown.stderr}`);
  }
  log('ok: the demo hint lists the trace');

  // 4. Nothing the examples wrote is left for `git add`: keys and data are ignored.
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=all'], {
    cwd: clone,
    encoding: 'utf8',
  });
  if (status.stdout.trim() !== '') {
    const lock = /^ M package-lock\.json$/m.test(status.stdout)
      ? '\n(npm install rewrote package-lock.json: the committed lock file is stale; run npm install and commit it)'
      : '';
    fail(`the clone's working tree is not clean after the README:\n${status.stdout}${lock}`);
  }
  log(`ok: git status is clean; ${PLAN.length} README blocks accounted for`);
} catch (e) {
  if (process.exitCode !== 1) {
    process.stderr.write(`readme: FAILED: ${e.stack ?? e}\n`);
    process.exitCode = 1;
  }
} finally {
  if (server && server.exitCode === null) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => (server.exitCode !== null ? r() : server.once('exit', r)));
  }
  if (keep || reuse) log(`kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
  log(process.exitCode === 1 ? 'FAILED' : 'passed');
}

/**
 * The README's SDK snippet as a module: TypeScript transpiled with the clone's own compiler,
 * `github` and `aliceCredential` (what the snippet leaves to the reader) defined before it; after
 * it the recorder is closed (its records sent) and what the collector stored is printed.
 */
function sdkModule(ts) {
  const typescript = createRequire(join(clone, 'package.json'))('typescript');
  const js = typescript.transpileModule(ts, {
    compilerOptions: {
      module: typescript.ModuleKind.ESNext,
      target: typescript.ScriptTarget.ES2022,
    },
  }).outputText;
  // Import declarations are hoisted: the snippet's import works below these lines.
  return `const github = {
  async deleteRepo(repo) {
    console.log(\`README SDK snippet: github.delete_repo ran for \${repo}\`);
    return { deleted: repo };
  },
};
const aliceCredential = process.env.ALICE;
${js}
await recorder.close();
const token = (await import('node:fs')).readFileSync('provenant-data/admin.token', 'utf8').trim();
const res = await fetch('http://127.0.0.1:7410/v1/events?task_id=task-981&type=tool.called', {
  headers: { authorization: \`Bearer \${token}\` },
});
for (const e of (await res.json()).events) {
  console.log(\`README SDK snippet: recorded \${e.action.name} \${e.outcome.status} \${e.attribution.level}\`);
}
`;
}
