// A real evidence bundle for the tests (test/e2e/cli-loads.test.ts) and the benchmarks
// (bench/cli-start.js); plain JS so that `node bench/…` can load it without a build.
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatEvidenceBundle } from '@provenant/ledger';
import { startCollector } from '@provenant/server';

/**
 * Starts a collector in this process on `dir`/data, records a prompt and the tool call it
 * caused (no credential: asserted attribution), writes the action's evidence bundle as
 * `provenant evidence` does, and stops the collector. Returns the file and the log's key.
 */
export async function writeEvidenceBundle(dir) {
  const collector = await startCollector({
    dataDir: join(dir, 'data'),
    host: '127.0.0.1',
    port: 0,
    logger: false,
    anonymousIngest: 'asserted',
  });
  try {
    const base = {
      schema: 'provenant.event/v1',
      initiator: { id: 'user:alice', kind: 'human' },
      actor: { id: 'spiffe://bundle.test/agent/a/instance/1', kind: 'agent_instance' },
    };
    const promptId = randomUUID();
    const actionId = randomUUID();
    const posted = await collector.app.inject({
      method: 'POST',
      url: '/v1/events',
      payload: [
        { ...base, id: promptId, time: new Date().toISOString(), type: 'prompt.received' },
        {
          ...base,
          id: actionId,
          time: new Date().toISOString(),
          type: 'tool.called',
          cause: { kind: 'agent_decision', record_id: promptId },
          action: { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' },
          outcome: { status: 'success' },
        },
      ],
    });
    if (posted.statusCode !== 200) throw new Error(`POST /v1/events: ${posted.body}`);
    // Evidence bundles need the auditor role: the admin token of the data folder.
    const admin = readFileSync(join(dir, 'data', 'admin.token'), 'utf8').trim();
    const evidence = await collector.app.inject({
      url: `/v1/events/${actionId}/evidence`,
      headers: { authorization: `Bearer ${admin}` },
    });
    if (evidence.statusCode !== 200) throw new Error(`evidence: ${evidence.body}`);
    const file = join(dir, 'evidence.json');
    writeFileSync(file, formatEvidenceBundle(evidence.json()));
    const key = (await collector.app.inject({ url: '/v1/log/key' })).body.trim();
    return { file, key };
  } finally {
    await collector.close();
  }
}
