import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '@provenant/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync, startCollectorProcess } from './process.js';
import type { CollectorProcess } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-export-'));
const dataDir = join(root, 'data');
let collector: CollectorProcess;
const ids: string[] = [];
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

// An OTLP/HTTP JSON trace receiver.
let receiver: Server;
let otlpUrl = '';
interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  status: { code: number };
}
const batches: Span[][] = [];
const authorizations: (string | undefined)[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      authorizations.push(req.headers.authorization);
      const request = JSON.parse(body) as {
        resourceSpans: { scopeSpans: { spans: Span[] }[] }[];
      };
      batches.push(request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  otlpUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;

  collector = await startCollectorProcess(dataDir, ['--origin', 'export.test/log']);
  // The CLI's read commands send it (PROVENANT_TOKEN): reading needs a role.
  process.env['PROVENANT_TOKEN'] = collector.admin.authorization.slice('Bearer '.length);
  const records = [...Array(1200).keys()].map((i) => {
    const id = uuidv7();
    ids.push(id);
    const tool = i % 4 !== 0;
    return {
      schema: 'provenant.event/v1',
      id,
      time: `2026-11-27T13:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.5Z`,
      type: tool ? 'tool.called' : 'prompt.received',
      initiator: { id: 'user:alice', kind: 'human' },
      actor: {
        id: 'spiffe://export.test/agent/researcher/instance/7f3a',
        kind: 'agent_instance',
        agent: 'researcher',
      },
      ...(tool && {
        action: {
          name: 'github.delete_repo',
          tool: { server: 'github-mcp', name: 'delete_repo', call_id: `call_${i}` },
          resource: 'repo:acme/payments',
        },
        outcome: { status: 'success', duration_ms: 12 },
      }),
      trace: { trace_id: TRACE, span_id: (i + 1).toString(16).padStart(16, '0') },
      session_id: 'sess-1',
      conversation_id: 'conv-1',
    };
  });
  const res = await fetch(`${collector.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: records.map((r) => JSON.stringify(r)).join('\n'),
  });
  expect(res.status).toBe(200);
}, 60_000);

afterAll(async () => {
  collector.child.kill('SIGTERM');
  await collector.exited;
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  rmSync(root, { recursive: true, force: true });
});

const cli = (args: string[]) => runCliAsync(args, { PROVENANT_HOME: join(root, 'home') });
const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any

describe('provenant export', () => {
  it('writes OCSF API Activity events, the same from the server and the data folder', async () => {
    const fromServer = join(root, 'server.ocsf.jsonl');
    const fromData = join(root, 'data.ocsf.jsonl');
    const a = await cli([
      'export',
      '--format',
      'ocsf',
      '--server',
      collector.url,
      '-o',
      fromServer,
    ]);
    expect(a.stderr).toMatch(/exported 1200 records/);
    expect(a.status).toBe(0);
    expect(
      (await cli(['export', '--format', 'ocsf', '--data', dataDir, '-o', fromData])).status,
    ).toBe(0);
    const events = readLines(fromServer);
    expect(readLines(fromData)).toEqual(events);
    expect(events.map((e) => e['metadata'].uid)).toEqual(ids);
    const tool = events[1]!;
    expect(tool).toMatchObject({
      class_uid: 6003,
      category_uid: 6,
      activity_id: 4,
      type_uid: 600304,
      status_id: 1,
      time: Date.UTC(2026, 10, 27, 13, 0, 1, 500),
      api: { operation: 'github.delete_repo', request: { uid: 'call_1' } },
      actor: {
        user: { uid: 'user:alice', type_id: 1 },
        app_name: 'researcher',
        session: { uid: 'sess-1' },
      },
      metadata: { product: { name: 'Provenant' }, sequence: 1 },
      unmapped: { provenant: { attribution: { level: 'asserted' } } },
    });
  });

  it('filters by type and time, and keeps jsonl as it was', async () => {
    const out = join(root, 'filtered.jsonl');
    const r = await cli([
      'export',
      '--format',
      'jsonl',
      '--server',
      collector.url,
      '--type',
      'prompt.received',
      '--from',
      '2026-11-27T13:05:00Z',
      '--to',
      '2026-11-27T13:10:00Z',
      '-o',
      out,
    ]);
    expect(r.status).toBe(0);
    const records = readLines(out);
    expect(records).toHaveLength(75);
    expect(records.every((x) => x['type'] === 'prompt.received' && x['integrity'])).toBe(true);
    const fromData = await cli([
      'export',
      '--format',
      'jsonl',
      '--data',
      dataDir,
      '--type',
      'prompt.received',
      '--from',
      '2026-11-27T13:05:00Z',
      '--to',
      '2026-11-27T13:10:00Z',
    ]);
    expect(fromData.status).toBe(0);
    expect(fromData.stdout).toBe(readFileSync(out, 'utf8'));
  });

  it('sends OTLP spans with GenAI attributes to the endpoint, in batches', async () => {
    batches.length = 0;
    const r = await cli([
      'export',
      '--format',
      'otlp',
      '--server',
      collector.url,
      '--otlp-endpoint',
      otlpUrl,
      '--type',
      'tool.called',
      '--batch',
      '400',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`exported 900 records as OTLP spans to ${otlpUrl} in 3 batches\n`);
    expect(batches.map((b) => b.length)).toEqual([400, 400, 100]);
    const span = batches[0]![0]!;
    const attrs = Object.fromEntries(
      span.attributes.map((a) => [a.key, Object.values(a.value)[0]]),
    );
    expect(span.traceId).toBe(TRACE);
    expect(span.spanId).toBe('0000000000000002');
    expect(span.name).toBe('execute_tool delete_repo');
    expect(span.status.code).toBe(1);
    expect(attrs).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'delete_repo',
      'gen_ai.tool.call.id': 'call_1',
      'gen_ai.agent.id': 'spiffe://export.test/agent/researcher/instance/7f3a',
      'gen_ai.agent.name': 'researcher',
      'gen_ai.conversation.id': 'conv-1',
      'provenant.initiator': 'user:alice',
      'provenant.attribution.level': 'asserted',
      'provenant.record.id': ids[1],
    });
    expect(Number(attrs['provenant.leaf_index'])).toBe(1);

    batches.length = 0;
    const fromData = await cli([
      'export',
      '--format',
      'otlp',
      '--data',
      dataDir,
      '--otlp-endpoint',
      otlpUrl,
      '--otlp-header',
      'Authorization=Bearer t0ken',
    ]);
    expect(fromData.status).toBe(0);
    expect(authorizations.at(-1)).toBe('Bearer t0ken');
    expect(fromData.stdout).toMatch(/exported 1200 records as OTLP spans .* in 3 batches/);
    expect(batches.flat().map((s) => s.spanId)).toHaveLength(1200);
  });

  it('streams GET /v1/export in chunks', async () => {
    const res = await fetch(`${collector.url}/v1/export?format=ocsf&type=prompt.received`, {
      headers: collector.admin,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const events = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { class_uid: number; api: { operation: string } });
    expect(events).toHaveLength(300);
    expect(events.every((e) => e.class_uid === 6003 && e.api.operation === 'prompt.received')).toBe(
      true,
    );
    const bad = await fetch(`${collector.url}/v1/export?format=xml`, { headers: collector.admin });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe(
      'unsupported_export_format',
    );
  });

  // Eleven CLI runs, each a process start (seconds on a loaded machine): independent, so they
  // run together, and the timeout is for the work, not for an idle machine.
  it('refuses bad input with exit 2, and an unreachable endpoint with exit 3', async () => {
    const usage = async (args: string[], message: RegExp) => {
      const r = await cli(['export', ...args]);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    // Port 1 on loopback refuses at once (nothing listens there): no connection timeout to wait
    // out, only the exporter's own retries.
    const unreachable = async () => {
      const r = await cli([
        'export',
        '--format',
        'otlp',
        '--data',
        dataDir,
        '--otlp-endpoint',
        'http://127.0.0.1:1/v1/traces',
      ]);
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/Cannot reach http:\/\/127\.0\.0\.1:1\/v1\/traces/);
    };
    await Promise.all([
      usage(['--format', 'csv', '--server', collector.url], /--format must be/),
      usage(['--format', 'otlp', '-o', join(root, 'x')], /-o is for jsonl and ocsf/),
      usage(
        ['--format', 'jsonl', '--otlp-endpoint', otlpUrl],
        /--otlp-\* and --batch go with --format otlp/,
      ),
      usage(['--format', 'otlp', '--otlp-endpoint', 'ftp://x/v1/traces'], /http\(s\) URL/),
      usage(['--format', 'ocsf', '--from', 'yesterday'], /--from must be an RFC 3339/),
      usage(
        ['--format', 'ocsf', '--from', '2026-11-27T14:00:00Z', '--to', '2026-11-27T13:00:00Z'],
        /--from must be before --to/,
      ),
      usage(['--format', 'ocsf', '--type', 'Bad Type'], /--type must be/),
      usage(['--format', 'otlp', '--batch', '0'], /--batch must be/),
      usage(['--format', 'otlp', '--otlp-protocol', 'grpc'], /--otlp-protocol must be/),
      usage(['--format', 'otlp', '--otlp-header', 'no-equals'], /NAME=VALUE/),
      unreachable(),
    ]);
  }, 120_000);
});
