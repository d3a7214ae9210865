/**
 * The `authzen` engine against real HTTP servers on loopback, each playing a PDP that answers
 * well or badly. (The engine contract suite, `describeEngineContract`, loads policy sets into
 * the engine; an external PDP holds its own, so it is tested here instead, and between two
 * collector processes in test/e2e/authzen-pdp.test.ts.)
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { digestOf } from '@provenant/core';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthzenEngine, DecisionPoint, PolicyError, checkPdpUrl, toAuthzen } from '../src/index.js';
import { ALICE, RESEARCHER, PLANNER, credential, directory } from './helpers.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** A PDP on a free loopback port; `metadata` false publishes none (404). */
async function pdp(answer: Handler, metadata: ((base: string) => unknown) | false = false) {
  const seen: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/.well-known/authzen-configuration') {
        if (metadata === false) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(metadata(base)));
        return;
      }
      answer(req, body, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, seen };
}

const json = (res: ServerResponse, status: number, body: unknown, requestId?: string) => {
  res.writeHead(status, {
    'content-type': 'application/json',
    ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
  });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
const echoing =
  (answer: unknown, status = 200): Handler =>
  (req, _body, res) =>
    json(res, status, answer, req.headers['x-request-id'] as string);

const cred = credential([ALICE, PLANNER, RESEARCHER], ['repo:read'], { task_id: 't-1' });
const action = {
  name: 'github.get_file',
  resource: 'repo:acme/payments',
  class: { privileged: false, irreversible: false, external: true },
  risk: 'low' as const,
};

async function decideWith(engine: AuthzenEngine) {
  const point = new DecisionPoint({ engine });
  await point.load({ files: [] });
  return point.decide(cred, action, directory());
}

describe('the authzen engine', () => {
  it('asks the PDP with the decision request as AuthZEN and records which PDP decided', async () => {
    const { base, seen } = await pdp(echoing({ decision: true, context: { determining: ['p1'] } }));
    const engine = new AuthzenEngine({ pdp: base, token: 'pep-secret', requestId: () => 'rid-1' });
    const d = await decideWith(engine);
    expect(d).toMatchObject({ decision: 'allow', reason: 'policy', determining: ['p1'] });
    const sent = seen.find((s) => s.url === '/access/v1/evaluation')!;
    expect(sent.headers['authorization']).toBe('Bearer pep-secret');
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.headers['x-request-id']).toBe('rid-1');
    const body = JSON.parse(sent.body);
    expect(body).toEqual(toAuthzen(d.request));
    expect(body).toMatchObject({
      subject: { type: 'Provenant::AgentInstance', id: RESEARCHER },
      action: { name: 'github.get_file', properties: { external: true, risk: 'low' } },
      resource: { type: 'Provenant::Resource', id: 'repo:acme/payments' },
      context: { initiator: ALICE, chain: [ALICE, PLANNER, RESEARCHER], task_id: 't-1' },
    });
    expect(d.pdp).toEqual({
      pdp: base,
      request_id: 'rid-1',
      exchange_digest: digestOf({
        request: body,
        response: { decision: true, context: { determining: ['p1'] } },
      }),
    });
  });

  it('denies when the PDP says false, as a decision of policy', async () => {
    const { base } = await pdp(echoing({ decision: false }));
    const d = await decideWith(new AuthzenEngine({ pdp: base }));
    expect(d).toMatchObject({ decision: 'deny', reason: 'policy', determining: [] });
  });

  it('uses the endpoint the metadata names, once the metadata names this PDP', async () => {
    const { base, seen } = await pdp(echoing({ decision: true }), (b) => ({
      policy_decision_point: b,
      access_evaluation_endpoint: `${b}/pdp/eval`,
    }));
    expect((await decideWith(new AuthzenEngine({ pdp: base }))).decision).toBe('allow');
    expect(seen.map((s) => s.url)).toEqual(['/.well-known/authzen-configuration', '/pdp/eval']);
  });

  const failures: [string, Handler, ((b: string) => unknown) | false, RegExp][] = [
    [
      'metadata naming another PDP (mix-up)',
      echoing({ decision: true }),
      () => ({
        policy_decision_point: 'https://other.example',
        access_evaluation_endpoint: 'https://other.example/access/v1/evaluation',
      }),
      /unusable metadata/,
    ],
    ['a decision that is not a boolean', echoing({ decision: 'yes' }), false, /malformed/],
    ['an answer that is not JSON', echoing('{decision: true'), false, /invalid JSON/],
    ['an error status', echoing({ error: { code: 'nope' } }, 500), false, /answered 500 \(nope\)/],
    [
      'an AuthZEN error answer (a message string, the code in Provenant-Error-Code)',
      (req, _b, res) => {
        res.writeHead(403, {
          'content-type': 'application/json',
          'provenant-error-code': 'subject_mismatch',
          'x-request-id': req.headers['x-request-id'] as string,
        });
        res.end(JSON.stringify('The subject is not the credential.'));
      },
      false,
      /answered 403 \(subject_mismatch\)/,
    ],
    [
      'no echo of the request id',
      (_q, _b, res) => json(res, 200, { decision: true }),
      false,
      /X-Request-ID/,
    ],
    [
      'another request id',
      (_q, _b, res) => json(res, 200, { decision: true }, 'someone-else'),
      false,
      /X-Request-ID/,
    ],
    [
      'an answer too large',
      echoing({ decision: true, context: { pad: 'x'.repeat(70_000) } }),
      false,
      /more than 65536 bytes/,
    ],
    [
      'another media type',
      (req, _b, res) => {
        res.writeHead(200, {
          'content-type': 'text/plain',
          'x-request-id': req.headers['x-request-id'] as string,
        });
        res.end('{"decision":true}');
      },
      false,
      /application\/json/,
    ],
  ];
  for (const [what, handler, metadata, message] of failures) {
    it(`fails closed on ${what}`, async () => {
      const { base } = await pdp(handler, metadata);
      const d = await decideWith(new AuthzenEngine({ pdp: base }));
      expect(d).toMatchObject({ decision: 'deny', reason: 'engine_error' });
      expect(d.errors.join(' ')).toMatch(message);
      expect(d.pdp).toBeUndefined();
    });
  }

  it('fails closed when the PDP is unreachable or does not answer in time', async () => {
    const { base } = await pdp(() => {
      // never answers
    });
    const late = await decideWith(new AuthzenEngine({ pdp: base, timeoutMs: 100 }));
    expect(late).toMatchObject({ decision: 'deny', reason: 'engine_error' });
    expect(late.errors.join(' ')).toMatch(/did not answer within 100 ms/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const gone = await decideWith(new AuthzenEngine({ pdp: `http://127.0.0.1:${port}` }));
    expect(gone).toMatchObject({ decision: 'deny', reason: 'engine_error' });
    expect(gone.errors.join(' ')).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  it('loads only the empty set, and takes https or loopback http PDPs only', async () => {
    const engine = new AuthzenEngine({ pdp: 'https://pdp.example.com/' });
    expect(engine.pdp).toBe('https://pdp.example.com');
    await expect(
      engine.load({ files: [{ name: 'p.cedar', text: 'permit(principal, action, resource);' }] }),
    ).rejects.toMatchObject({ code: 'invalid_policy_set' });
    await expect(engine.load({ files: [] })).resolves.toMatchObject({ policyIds: [] });
    expect(() => checkPdpUrl('http://pdp.example.com')).toThrow(/https/);
    expect(() => checkPdpUrl('https://u:p@pdp.example.com')).toThrow(/token file/);
    expect(() => checkPdpUrl('https://pdp.example.com/?tenant=1')).toThrow(/query/);
    expect(new PolicyError('engine_error', 'x').code).toBe('engine_error');
  });
});
