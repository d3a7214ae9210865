/**
 * The record example from DESIGN.md ("The record"), with every `…` placeholder filled in by a
 * valid value and the ids made real UUIDv7s.
 */
export function designExample() {
  return {
    ...producerExample(),
    attribution: { level: 'verified', reasons: [] },
    integrity: {
      leaf_index: 1234,
      leaf_hash: 'nh89XHuaHn2aLw5cOxpOb40MK0pujw0cO1p+nx08W3o=',
    },
  };
}

/** The DESIGN.md example as a producer sends it: without the collector's and ledger's fields. */
export function producerExample() {
  return {
    schema: 'provenant.event/v1',
    id: '0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f',
    time: '2026-11-27T13:05:01.123456Z',
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    cause: { kind: 'agent_decision', record_id: '0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e60' },
    actor: {
      id: 'spiffe://acme.test/agent/researcher/instance/7f3a',
      kind: 'agent_instance',
      agent: 'researcher',
      version: '2.1.0',
      instance: '7f3a',
    },
    delegation: [
      {
        from: 'user:alice',
        to: 'spiffe://acme.test/agent/planner/instance/19c2',
        jti: 'jti-planner-19c2-0001',
        scope: ['repo:read', 'repo:write'],
      },
      {
        from: 'spiffe://acme.test/agent/planner/instance/19c2',
        to: 'spiffe://acme.test/agent/researcher/instance/7f3a',
        jti: 'jti-researcher-7f3a-0002',
        scope: ['repo:read'],
      },
    ],
    credential: {
      jti: 'jti-researcher-7f3a-0002',
      iss: 'https://issuer.acme.test',
      iat: 1795000000,
      exp: 1795000300,
    },
    action: {
      name: 'github.delete_repo',
      tool: { server: 'github-mcp', name: 'delete_repo', call_id: 'call_42' },
      resource: 'repo:acme/payments',
      class: { privileged: true, irreversible: true, external: true },
      risk: 'critical',
      args_digest: 'sha256:7d9a2f0e5c3b1a4e6f8d0c2b4a6e8f0d1c3b5a7e9f1d3c5b7a9e1f3d5c7b9a1e',
      args: { repo: 'acme/payments' },
    },
    policy: {
      decision_id: 'dec-2026-11-27-0042',
      engine: 'cedar',
      engine_version: '4.x',
      policy_set: 'sha256:1f3d5c7b9a1e7d9a2f0e5c3b1a4e6f8d0c2b4a6e8f0d1c3b5a7e9f1d3c5b7a9e',
      decision: 'allow',
      determining: ['policy3'],
      context_digest: 'sha256:0c2b4a6e8f0d1c3b5a7e9f1d3c5b7a9e1f3d5c7b9a1e7d9a2f0e5c3b1a4e6f8d',
    },
    outcome: {
      status: 'success',
      duration_ms: 412,
      result_digest: 'sha256:5a7e9f1d3c5b7a9e1f3d5c7b9a1e7d9a2f0e5c3b1a4e6f8d0c2b4a6e8f0d1c3b',
      error: null,
    },
    trace: {
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      parent_span_id: '53995c3f42cd8ad8',
    },
    task_id: 'task-981',
    session_id: 'sess-5521',
    conversation_id: 'conv-3307',
    source: { producer: '@provenant/sdk@0.1.0', host: 'worker-3.acme.test' },
  };
}
