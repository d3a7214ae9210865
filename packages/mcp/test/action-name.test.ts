import { ACTION_NAME_PATTERN } from '@provenant/core/vocabulary';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError, parseConfig } from '../src/index.js';
import { actionNamePart, defaultActionName } from '../src/policy/action-name.js';
import { classify } from '../src/policy/config.js';

describe('default action names', () => {
  it('makes the reference server-everything (mcp-servers/everything) a valid action name', () => {
    expect(defaultActionName('mcp-servers/everything', 'echo')).toBe('mcp-servers_everything.echo');
    expect(ACTION_NAME_PATTERN.test(defaultActionName('mcp-servers/everything', 'echo'))).toBe(
      true,
    );
  });

  it('gives any server and tool name a valid action name', () => {
    const names: [string, string][] = [
      ['@modelcontextprotocol/server-github', 'create_issue'],
      ['My Server (beta)', 'get file'],
      ['', ''],
      ['///', '...'],
      ['сервер', 'инструмент'],
      ['x'.repeat(300), 'y'.repeat(300)],
      ['a.b', 'c:d-e_f'],
      ['emoji 🚀 server', 'tool\u0000name'],
    ];
    for (const [server, tool] of names) {
      const name = defaultActionName(server, tool);
      expect(name, `${server} / ${tool}`).toMatch(ACTION_NAME_PATTERN);
    }
    expect(defaultActionName('', '')).toBe('mcp.unnamed');
    expect(defaultActionName('My Server (beta)', 'get file')).toBe('My_Server_beta.get_file');
    expect(defaultActionName('a.b', 'c:d-e_f')).toBe('a.b.c:d-e_f');
  });

  it('keeps two long names apart when it cuts them', () => {
    const a = defaultActionName('s'.repeat(200), `${'t'.repeat(200)}a`);
    const b = defaultActionName('s'.repeat(200), `${'t'.repeat(200)}b`);
    expect(a).toHaveLength(128);
    expect(a).not.toBe(b);
  });

  it('leaves a name that is already valid as it is', () => {
    expect(actionNamePart('github-mcp', 'mcp')).toBe('github-mcp');
    expect(defaultActionName('github-mcp', 'list_roots')).toBe('github-mcp.list_roots');
  });

  it('classifies unmapped calls of a server named with a slash under valid action names, keeping the names in the record', () => {
    const tool = classify({}, 'mcp-servers/everything', 'tools/call', { name: 'echo' }, () => ({
      readOnlyHint: true,
    }));
    expect(tool).toMatchObject({
      action: 'mcp-servers_everything.echo',
      resource: 'mcp:mcp-servers/everything/echo',
      server: 'mcp-servers/everything',
      toolName: 'echo',
      risk: 'low',
    });
    const read = classify(
      {},
      'mcp-servers/everything',
      'resources/read',
      { uri: 'demo://1' },
      () => undefined,
    );
    expect(read.action).toBe('mcp-servers_everything.read_resource');
    const prompt = classify({}, 'a b', 'prompts/get', { name: 'p' }, () => undefined);
    expect(prompt.action).toBe('a_b.get_prompt');
    // In a config's action template, {server} and {tool} are the safe forms too.
    const mapped = classify(
      parseConfig({ tools: { 'get env': { action: '{server}.{tool}.read' } } }),
      'mcp-servers/everything',
      'tools/call',
      { name: 'get env' },
      () => undefined,
    );
    expect(mapped.action).toBe('mcp-servers_everything.get_env.read');
  });

  it('refuses a config whose action template cannot make an action name', () => {
    expect(() => parseConfig({ tools: { x: { action: 'github/delete repo' } } })).toThrow(
      InvalidConfigError,
    );
    expect(() => parseConfig({ tools: { x: { action: 'github/delete repo' } } })).toThrow(
      /tools\.x\.action/,
    );
    expect(() => parseConfig({ tools: { x: { action: 'github.{verb}' } } })).not.toThrow();
  });
});
