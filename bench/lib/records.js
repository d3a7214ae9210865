// Realistic provenant.event/v1 records for the benchmarks: the shape of
// packages/server/test/helpers.ts `record()`, with ~20 initiators, ~50 actors, task ids and
// random trace ids each shared by ~10 records, UUIDv7 ids, padded to ~1.1 KB canonical.
import { randomBytes, randomUUID } from 'node:crypto';
import { uuidv7 } from '@provenant/core';
import { prepareRecord } from '@provenant/server/offline';

/** Canonical size (bytes) the records are padded to. */
export const TARGET_CANONICAL_BYTES = 1100;

const INITIATORS = Array.from({ length: 20 }, (_, i) =>
  i < 16
    ? { id: `user:${['alice', 'bob', 'carol', 'dave'][i % 4]}-${i}`, kind: 'human' }
    : { id: `workflow:nightly-${i}`, kind: 'workflow' },
);
const AGENTS = ['researcher', 'coder', 'reviewer', 'planner', 'support'];
const ACTORS = Array.from({ length: 50 }, (_, i) => {
  const agent = AGENTS[i % AGENTS.length];
  const instance = (0x7f3a + i * 977).toString(16);
  return {
    id: `spiffe://acme.test/agent/${agent}/instance/${instance}`,
    kind: 'agent_instance',
    agent,
    version: `2.${i % 7}.0`,
    instance,
  };
});
const TYPES = [
  'tool.called',
  'tool.called',
  'tool.called',
  'tool.result',
  'prompt.received',
  'policy.evaluated',
];
const TOOLS = [
  ['github-mcp', 'delete_repo', 'repo:acme/payments', 'critical'],
  ['github-mcp', 'create_issue', 'repo:acme/web', 'low'],
  ['slack-mcp', 'post_message', 'channel:ops', 'medium'],
  ['postgres-mcp', 'query', 'db:acme/orders', 'high'],
  ['fs-mcp', 'write_file', 'file:/srv/app/config.yaml', 'high'],
];
// The collector adds `"attribution":{"level":"asserted","reasons":["no_credential"]}` (and a
// comma): it counts towards the canonical size.
const ATTRIBUTION_CHARS =
  JSON.stringify({ attribution: { level: 'asserted', reasons: ['no_credential'] } }).length - 1;
const WORDS =
  'the agent read the ticket summarised the failing checks and proposed a change to the deploy pipeline for review by the owning team before merge'.split(
    ' ',
  );

const hex = (bytes) => randomBytes(bytes).toString('hex');

/**
 * A stateful generator: `next()` gives one input record (no `attribution`; the collector sets
 * it). Ids are UUIDv7 from @provenant/core, so they increase and never repeat in a process.
 */
export function recordGenerator(seedTimeMs = Date.UTC(2026, 10, 27, 13, 5, 1)) {
  let n = 0;
  let task = `task-${hex(4)}`;
  let trace = hex(16);
  let timeUs = seedTimeMs * 1000;
  return {
    next() {
      // Task and trace groups of ~10, out of phase so they do not coincide.
      if (n % 10 === 0) task = `task-${hex(4)}`;
      if (n % 10 === 5) trace = hex(16);
      timeUs += 137 + (n % 97);
      const [server, name, resource, risk] = TOOLS[n % TOOLS.length];
      const initiator = INITIATORS[(n * 7) % INITIATORS.length];
      const actor = ACTORS[(n * 13) % ACTORS.length];
      const words = [];
      for (let w = 0; w < 4; w++) words.push(WORDS[(n + w) % WORDS.length]);
      const record = {
        schema: 'provenant.event/v1',
        id: uuidv7(),
        time: isoMicros(timeUs),
        type: TYPES[n % TYPES.length],
        initiator: { id: initiator.id, kind: initiator.kind },
        cause: { kind: 'agent_decision' },
        actor: {
          id: actor.id,
          kind: actor.kind,
          agent: actor.agent,
          version: actor.version,
          instance: actor.instance,
        },
        delegation: [{ from: initiator.id, to: actor.id }],
        action: {
          name: `${server.split('-')[0]}.${name}`,
          tool: { server, name, call_id: `call_${n}` },
          resource,
          // No class flag set: flagged classes need a verified credential (issue 3), which
          // these benchmarks do not exercise; the records are accepted as asserted.
          class: { privileged: false, irreversible: false, external: false },
          risk,
          args: { target: resource, note: words.join(' '), pad: '' },
        },
        outcome: { status: n % 50 === 0 ? 'error' : 'success', duration_ms: 12 + (n % 400) },
        trace: { trace_id: trace, span_id: hex(8) },
        task_id: task,
        // No `policy`: a decision id the collector's decision point never made raises an alert.
        conversation_id: `conv-${task.slice(5)}`,
        source: { producer: '@provenant/sdk@0.1.0' },
      };
      const size = JSON.stringify(record).length + ATTRIBUTION_CHARS;
      const pad = TARGET_CANONICAL_BYTES - size;
      if (pad > 0) record.action.args.pad = 'x'.repeat(pad);
      n++;
      return record;
    },
  };
}

/** The log entry the collector makes of `record`: its own `prepareRecord`, without credentials. */
export function entryOf(record) {
  const p = prepareRecord(record);
  if (!p.ok) throw new Error(`generated record refused: ${p.code}: ${p.message}`);
  return p.entry;
}

function isoMicros(us) {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // ...:SS.mmmZ
  return `${iso.slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z`;
}

/**
 * `n` ~1.1 KB records of `user` acting through the agent instance `actor`, not privileged
 * (no decision needed): the credentialed-ingest benchmarks' workload.
 */
export function delegatedRecords(n, user, actor, pad) {
  const time = new Date().toISOString();
  return Array.from({ length: n }, (_, i) => ({
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time,
    type: 'tool.called',
    initiator: { id: user, kind: 'human' },
    actor: { id: actor, kind: 'agent_instance', agent: 'researcher' },
    action: {
      name: 'github.get_file',
      resource: `repo:acme/r${i % 50}`,
      risk: 'low',
      args: { path: `src/file-${i}.ts`, note: pad },
    },
    outcome: { status: 'success', duration_ms: 12 },
    trace: { trace_id: randomUUID().replace(/-/g, ''), span_id: '00f067aa0ba902b7' },
    task_id: `task-${i % 100}`,
  }));
}

/**
 * Actions of the events-search benchmark (issue 15): 8 tool servers × 5 operations = 40 action
 * names, each server with its own resources (20 to 2,000 of them, 4,900 in all).
 */
const SEARCH_SERVERS = [
  ['github', ['delete_repo', 'create_issue', 'get_file', 'push', 'merge_pr'], 'repo:acme/r', 500],
  ['slack', ['post_message', 'read_channel', 'invite', 'archive', 'react'], 'channel:c', 100],
  ['postgres', ['query', 'insert', 'update', 'delete', 'migrate'], 'db:acme/d', 50],
  ['fs', ['write_file', 'read_file', 'delete_file', 'list_dir', 'chmod'], 'file:/srv/app/f', 1000],
  ['jira', ['create_issue', 'transition', 'comment', 'assign', 'close'], 'issue:ACME-', 2000],
  ['s3', ['put_object', 'get_object', 'delete_object', 'list', 'presign'], 'bucket:acme-', 30],
  ['k8s', ['apply', 'delete', 'scale', 'logs', 'exec'], 'k8s:prod/ns', 20],
  ['email', ['send', 'read', 'delete', 'forward', 'label'], 'mailbox:m', 200],
];

/** The resource the "who deleted repo X?" search looks for: 1 record in 500 touches it. */
export const SEARCH_TARGET = 'repo:acme/payments';

/** A small integer hash (xorshift-multiply), so the picks look random and stay reproducible. */
function mix(n, salt) {
  let x = (n + 1) * 0x9e3779b1 + salt * 0x85ebca6b;
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d);
  x ^= x >>> 12;
  x = Math.imul(x, 0x297a2d39);
  x ^= x >>> 15;
  return x >>> 0;
}

/**
 * `recordGenerator` with the actions, resources and outcomes of a varied deployment: 40 action
 * names, 4,900 resources, outcomes 97% success, 2% error, 0.5% denied, 0.5% pending; 1 record
 * in 500 is a github action on SEARCH_TARGET (a fifth of those deletes it).
 */
export function searchRecordGenerator(seedTimeMs) {
  const base = recordGenerator(seedTimeMs);
  let n = 0;
  return {
    next() {
      const r = base.next();
      const i = n++;
      const [server, ops, prefix, count] = SEARCH_SERVERS[mix(i, 1) % SEARCH_SERVERS.length];
      const target = i % 500 === 0;
      const [srv, op] = target ? ['github', ops[0]] : [server, ops[mix(i, 2) % ops.length]];
      const opName = target ? SEARCH_SERVERS[0][1][mix(i, 2) % 5] : op;
      const resource = target ? SEARCH_TARGET : `${prefix}${mix(i, 3) % count}`;
      const name = `${target ? 'github' : srv}.${opName}`;
      r.action.name = name;
      r.action.tool = {
        server: `${target ? 'github' : srv}-mcp`,
        name: opName,
        call_id: `call_${i}`,
      };
      r.action.resource = resource;
      r.action.args.target = resource;
      const h = mix(i, 4) % 1000;
      r.outcome.status = h < 5 ? 'denied' : h < 25 ? 'error' : h < 30 ? 'pending' : 'success';
      return r;
    },
  };
}
