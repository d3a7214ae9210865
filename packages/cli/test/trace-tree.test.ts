import type { TraceNode } from '@provenant/server';
import { describe, expect, it } from 'vitest';
import { renderTraceTree } from '../src/lib/trace-tree.js';

const node = (over: Partial<TraceNode>): TraceNode => ({
  id: 'id',
  leaf_index: 0,
  time: '2026-01-01T00:00:00Z',
  type: 'prompt.received',
  level: null,
  initiator: 'user:alice',
  actor: null,
  action: null,
  resource: null,
  outcome: null,
  span_id: null,
  linked_by: 'none',
  parent_id: null,
  children: [],
  ...over,
});

describe('renderTraceTree', () => {
  it('draws a trace as lines with ├─ └─ connectors, one a record', () => {
    const call = (id: string, children: TraceNode[] = []) =>
      node({
        id,
        type: 'tool.called',
        actor: 'spiffe://acme.test/agent/researcher/instance/7f3a',
        action: 'github.get_file',
        resource: 'repo:acme/payments',
        outcome: 'success',
        level: 'verified',
        linked_by: 'span',
        children,
      });
    const lines = renderTraceTree([node({ children: [call('a', [call('c')]), call('b')] })]);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('2026-01-01T00:00:00Z  prompt.received  (no actor)');
    expect(lines[1]).toMatch(/^├─ .*tool\.called.*github\.get_file repo:acme\/payments.*→ success/);
    expect(lines[1]).toContain('[verified]');
    expect(lines[2]).toMatch(/^│ {2}└─ .*tool\.called/);
    expect(lines[3]).toMatch(/^└─ .*tool\.called/);
  });
});
