import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError, StreamTransport, parseConfig } from '../src/index.js';
import { classFromAnnotations, classify, fillTemplate } from '../src/policy/config.js';
import { checkMessage } from '../src/wire.js';
import { audienceRefusal } from '../src/proxy/audience.js';

describe('config', () => {
  it('reads tool annotations as the MCP specification defines their defaults', () => {
    expect(classFromAnnotations({ readOnlyHint: true, openWorldHint: false })).toEqual({
      class: { privileged: false, irreversible: false, external: false },
      risk: 'low',
    });
    expect(classFromAnnotations({ destructiveHint: true, openWorldHint: false })).toEqual({
      class: { privileged: false, irreversible: true, external: false },
      risk: 'high',
    });
    expect(classFromAnnotations({ destructiveHint: false })).toEqual({
      class: { privileged: false, irreversible: false, external: true },
      risk: 'medium',
    });
    // No annotations: presumed destructive and open-world.
    expect(classFromAnnotations(undefined).class).toEqual({
      privileged: false,
      irreversible: true,
      external: true,
    });
  });

  it('lets the config override the annotations and fills templates from the arguments', () => {
    const config = parseConfig({
      server: 'gh',
      tools: {
        delete_repo: {
          action: 'github.delete_repo',
          resource: 'repo:{owner}/{repo}',
          class: { privileged: true },
          risk: 'critical',
        },
      },
    });
    const c = classify(
      config,
      'ignored',
      'tools/call',
      { name: 'delete_repo', arguments: { owner: 'acme', repo: 'payments' } },
      () => ({ destructiveHint: true, openWorldHint: false }),
    );
    expect(c).toEqual({
      action: 'github.delete_repo',
      resource: 'repo:acme/payments',
      class: { privileged: true, irreversible: true, external: false },
      risk: 'critical',
      server: 'gh',
      toolName: 'delete_repo',
      args: { owner: 'acme', repo: 'payments' },
    });
    const unmapped = classify(config, 'x', 'tools/call', { name: 'other' }, () => undefined);
    expect([unmapped.action, unmapped.resource]).toEqual(['gh.other', 'mcp:gh/other']);
    const res = classify({}, 'fs', 'resources/read', { uri: 'file:///a' }, () => undefined);
    expect([res.action, res.resource, res.risk]).toEqual(['fs.read_resource', 'file:///a', 'low']);
    expect(fillTemplate('{a}-{b}-{c}', { a: 1, b: { x: 1 } })).toBe('1--');
  });

  it('refuses a config with the wrong shape, naming the field', () => {
    expect(() => parseConfig({ tools: { x: { risk: 'huge' } } })).toThrow(InvalidConfigError);
    expect(() => parseConfig({ tools: { x: { risk: 'huge' } } })).toThrow(/tools\.x\.risk/);
    expect(() => parseConfig({ tools: { x: { class: { secret: true } } } })).toThrow(/class/);
    expect(() => parseConfig([])).toThrow(/must be an object/);
  });
});

describe('wire', () => {
  it('sorts messages and says what is wrong with a malformed one', () => {
    expect(checkMessage({ jsonrpc: '2.0', id: 1, method: 'ping' }).kind).toBe('request');
    expect(checkMessage({ jsonrpc: '2.0', method: 'notifications/x' }).kind).toBe('notification');
    expect(checkMessage({ jsonrpc: '2.0', id: 'a', result: {} }).kind).toBe('response');
    expect(checkMessage({ jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm' } }).kind).toBe(
      'response',
    );
    expect(checkMessage({ jsonrpc: '2.0', id: 1.5, method: 'x' })).toMatchObject({
      kind: 'invalid',
      id: null,
    });
    expect(checkMessage({ jsonrpc: '2.0', id: 2, result: {}, error: {} })).toMatchObject({
      kind: 'invalid',
      id: 2,
    });
    expect(checkMessage({ jsonrpc: '2.0', id: 3, method: 'x', params: 5 })).toMatchObject({
      kind: 'invalid',
      id: 3,
    });
    expect(checkMessage(null)).toMatchObject({ kind: 'invalid', id: null });
  });
});

describe('StreamTransport', () => {
  it('reassembles lines split across chunks, accepts CRLF and reports non-JSON lines', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const t = new StreamTransport(input, output);
    const got: unknown[] = [];
    const bad: string[] = [];
    t.onmessage = (m) => got.push(m);
    t.onmalformed = (line) => bad.push(line);
    await t.start();
    input.write('{"jsonrpc":"2.0",');
    input.write('"method":"a"}\r\n\n{oops}\n{"jsonrpc":"2.0","method":"b"}\n{"jsonrpc"');
    await new Promise((ok) => setImmediate(ok));
    expect(got).toEqual([
      { jsonrpc: '2.0', method: 'a' },
      { jsonrpc: '2.0', method: 'b' },
    ]);
    expect(bad).toEqual(['{oops}']);
    await t.send({ jsonrpc: '2.0', method: 'c' } as JSONRPCMessage);
    expect(output.read()?.toString()).toBe('{"jsonrpc":"2.0","method":"c"}\n');
    let closed = false;
    t.onclose = () => (closed = true);
    input.end();
    await new Promise((ok) => setImmediate(ok));
    expect(closed).toBe(true);
  });
});

describe('audience (RFC 8707)', () => {
  const jwt = (claims: Record<string, unknown>) =>
    `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
  const RESOURCE = 'https://mcp.example/mcp';

  it('takes a credential for this resource, or a general Provenant one', () => {
    expect(audienceRefusal(jwt({ aud: RESOURCE }), RESOURCE)).toBeUndefined();
    expect(audienceRefusal(jwt({ aud: ['x', RESOURCE] }), RESOURCE)).toBeUndefined();
    expect(audienceRefusal(jwt({ aud: 'provenant' }), RESOURCE)).toBeUndefined();
    // Unreadable or without aud: the collector's exchange decides (and refuses).
    expect(audienceRefusal('not a jwt', RESOURCE)).toBeUndefined();
    expect(audienceRefusal(jwt({ sub: 'user:a' }), RESOURCE)).toBeUndefined();
  });

  it('refuses a credential bound to another resource', () => {
    for (const aud of ['https://other.example/mcp', `${RESOURCE}/`, ['https://a.example'], 7]) {
      expect(audienceRefusal(jwt({ aud }), RESOURCE), JSON.stringify(aud)).toMatch(
        /another resource/,
      );
    }
  });
});
