import { describe, expect, it } from 'vitest';
import { declaredMappings, mapRequest } from '../src/index.js';

const token = {
  sub: 'alice@example.com',
  client_id: 'http://agentprovider.com/agent-app-id',
  iss: 'https://auth.example.com',
  aud: 'https://mcp.example.com',
  exp: 1750000000,
};
const evaluation = (
  method: string,
  params?: Record<string, unknown>,
  t: Record<string, unknown> = token,
) => {
  const m = mapRequest(method, params, t);
  if (m.kind !== 'evaluate') throw new Error(`${method}: ${m.kind}`);
  return m.request;
};
const subject = { type: 'identity', id: 'alice@example.com' };
const context = { agent: 'http://agentprovider.com/agent-app-id' };

describe('COAZ-MCP default mappings (Draft 1)', () => {
  it("maps the binding's tools/call example (the token of its §Expressions)", () => {
    expect(
      evaluation('tools/call', { name: 'get_customer', arguments: { id: 'cust-12345' } }),
    ).toEqual({
      subject,
      action: { name: 'tools/call' },
      resource: { type: 'tool', id: 'get_customer' },
      context,
    });
  });

  it('maps each method to its action and resource', () => {
    const server = { type: 'mcp_server', id: 'https://mcp.example.com' };
    const cases: [string, Record<string, unknown> | undefined, unknown, Record<string, string>?][] =
      [
        [
          'initialize',
          { protocolVersion: '2025-11-25' },
          server,
          { protocol_version: '2025-11-25' },
        ],
        ['tools/list', undefined, server],
        ['resources/list', {}, server],
        ['prompts/list', {}, server],
        ['tasks/list', {}, server],
        ['logging/setLevel', { level: 'debug' }, server, { level: 'debug' }],
        ['resources/read', { uri: 'file:///a' }, { type: 'resource', id: 'file:///a' }],
        ['resources/subscribe', { uri: 'file:///a' }, { type: 'resource', id: 'file:///a' }],
        ['prompts/get', { name: 'summarize' }, { type: 'prompt', id: 'summarize' }],
        ['tasks/cancel', { taskId: 't-1' }, { type: 'task', id: 't-1' }],
        [
          'completion/complete',
          { ref: { type: 'ref/prompt', name: 'p' } },
          { type: 'prompt', id: 'p' },
        ],
        [
          'completion/complete',
          { ref: { type: 'ref/resource', uri: 'u' } },
          { type: 'resource', id: 'u' },
        ],
      ];
    for (const [method, params, resource, extra] of cases) {
      expect(evaluation(method, params), method).toEqual({
        subject,
        action: { name: method },
        resource,
        context: { ...context, ...extra },
      });
    }
  });

  it('omits the agent when the token has no client_id ($token.?client_id)', () => {
    const { client_id: _c, ...bare } = token;
    expect(evaluation('tools/list', {}, bare).context).toEqual({});
  });

  it('passes ping and notifications, and leaves unknown methods unmapped (deny)', () => {
    expect(mapRequest('ping', undefined, token)).toEqual({ kind: 'pass' });
    expect(mapRequest('notifications/initialized', undefined, token)).toEqual({ kind: 'pass' });
    expect(mapRequest('vendor/anything', {}, token)).toEqual({ kind: 'unmapped' });
  });

  it('is a mapping error without the fields a mapping needs', () => {
    const errors: [string, Record<string, unknown> | undefined, Record<string, unknown>][] = [
      ['tools/call', {}, token],
      ['resources/read', { uri: 7 }, token],
      ['tools/list', {}, { ...token, sub: undefined }],
      // aud a list: which member is this server cannot be told without the server id.
      ['tools/list', {}, { ...token, aud: ['https://a', 'https://b'] }],
      ['initialize', {}, token],
    ];
    for (const [method, params, t] of errors) {
      expect(mapRequest(method, params, t), method).toMatchObject({ kind: 'error' });
    }
    expect(
      mapRequest(
        'tools/list',
        {},
        { ...token, aud: ['https://a', 'https://b'] },
        { serverId: 'https://b' },
      ),
    ).toMatchObject({ kind: 'evaluate', request: { resource: { id: 'https://b' } } });
  });

  it('refuses a tool that declares a mapping instead of authorizing it by default', () => {
    const list = {
      tools: [
        {
          name: 'get_customer',
          inputSchema: { type: 'object', 'x-authzen-mapping': { evaluation: {} } },
        },
        { name: 'get_local_weather', inputSchema: { type: 'object' } },
      ],
    };
    const declared = new Set(declaredMappings(list));
    expect([...declared]).toEqual(['get_customer']);
    expect(mapRequest('tools/call', { name: 'get_customer' }, token, { declared })).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/x-authzen-mapping/),
    });
    expect(mapRequest('tools/call', { name: 'get_local_weather' }, token, { declared }).kind).toBe(
      'evaluate',
    );
  });
});
