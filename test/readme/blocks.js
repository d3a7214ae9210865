// The README's code blocks, and what the fresh-clone test (run.js) does with each: every block
// is run verbatim or listed here as skipped with the reason. readme-blocks.test.ts fails when a
// README block is in neither list, or a listed block is no longer in the README.

/** The fenced code blocks of a Markdown text: language, code and the line the fence opens on. */
export function codeBlocks(markdown) {
  const blocks = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({ lang: open[1], code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

/** A block's key: its first non-empty line. */
export const keyOf = (block) =>
  block.code
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim() ?? '';

/**
 * Every README block, by its first line, in README order. `run`: how run.js runs it —
 * `quickstart` (its first line in the background until /healthz answers; its other lines as
 * `skip` says), `shell` (in one bash session shared by every shell block, `set -euo pipefail`),
 * `sdk` (the TypeScript snippet, with `github` and `aliceCredential` defined around it, after
 * the block named in `after`). `expect`: strings its output must hold.
 */
export const PLAN = [
  {
    key: 'npm install && npm start   # collector on http://127.0.0.1:7410, ledger in ./provenant-data (SQLite)',
    run: 'quickstart',
    expect: ['policies: examples/policies (6 policies, policy set sha256:'],
    skipLines: {
      'npm test                   # the whole suite':
        'CI runs `npm test` on the same commit just before this script (.ci/run)',
    },
  },
  {
    key: "curl -s localhost:7410/v1/events -H 'content-type: application/json' -d '{",
    run: 'shell',
    expect: [
      '{"accepted":[{"id":"0192f3c4-5b6a-7c00-8d3e-4f5a6b7c8d9e","leaf_index":0,"attribution":{"level":"asserted"}}],"rejected":[]}',
      '{"leaf_index":0,"tree_size":1,"hashes":[]}',
      'OK provenant.local/',
      'checkpoint signed by provenant.local/',
    ],
  },
  {
    key: "import { createRecorder } from '@provenant/sdk';",
    run: 'sdk',
    after: "# with npm start's collector running (serve --dev-login --policies examples/policies):",
    reason:
      'runs after the worked example, which registers the planner (planner.key.json) and signs alice in ($ALICE)',
  },
  {
    key: "# with npm start's collector running (serve --dev-login --policies examples/policies):",
    run: 'shell',
    expect: [
      'registered human user:alice',
      'VALID credential',
      'chain:     user:alice → spiffe://acme.test/agent/planner/instance/19c2 → spiffe://acme.test/agent/researcher/instance/7f3a',
      '"attribution":{"level":"verified"}',
    ],
  },
  {
    key: '{',
    run: 'skip',
    skip: 'an audit-rules file, not a command; packages/policy/test parses the same rules',
  },
  {
    key: '{',
    run: 'skip',
    skip: 'an MCP client configuration that fetches @modelcontextprotocol/server-github and needs a GitHub token; test/e2e/mcp-reference.test.ts runs the proxy in front of the reference servers',
  },
  {
    key: 'npx provenant serve --oidc-issuer https://idp.example.com --oidc-client-id provenant \\',
    run: 'skip',
    skip: 'needs an OpenID provider at idp.example.com; test/e2e/signin-cli.test.ts runs the same flags against oidc-provider',
  },
  {
    key: 'provenant serve --data /var/lib/provenant --issuer-url https://provenant.acme.example \\',
    run: 'skip',
    skip: 'a production deployment behind https://provenant.acme.example and an OpenID provider; test/e2e/mcp-authorization.test.ts runs the flow with the official SDK client, oidc-provider and the dev sign-in',
  },
  {
    key: '{ "servers": { "github": { "type": "http", "url": "https://mcp.acme.example/mcp" } } }',
    run: 'skip',
    skip: "an MCP client's configuration file (VS Code), not a command",
  },
  {
    key: 'provenant witness --data ./witness --port 7420 --log "$ORIGIN=$LOG_KEY"   # prints its verifier key',
    run: 'skip',
    skip: 'a sketch over $ORIGIN, $LOG_KEY and $WITNESS_KEY, which it does not set; test/e2e/witness.test.ts runs witness, serve --witness and verify --witness',
  },
];

/** Pairs each README block with its plan entry; lists what is unplanned or stale. */
export function planFor(markdown) {
  const blocks = codeBlocks(markdown);
  const unplanned = [];
  const paired = [];
  const used = new Set();
  for (const block of blocks) {
    const key = keyOf(block);
    const i = PLAN.findIndex((p, n) => !used.has(n) && p.key === key);
    if (i < 0) unplanned.push(`README.md:${block.line}: ${block.lang} block "${key}"`);
    else {
      used.add(i);
      paired.push({ block, plan: PLAN[i] });
    }
  }
  const stale = PLAN.filter((_p, n) => !used.has(n)).map((p) => p.key);
  return { paired, unplanned, stale };
}
