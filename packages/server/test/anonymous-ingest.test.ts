import { describe, expect, it } from 'vitest';
import { Log, MemoryStorage, parseSignerKey } from '@provenant/ledger';
import { buildApp, DEFAULT_LIMITS } from '../src/index.js';
import type { AnonymousIngest } from '../src/index.js';
import { KEYS, postJson, record } from './helpers.js';

async function appWith(anonymousIngest: AnonymousIngest) {
  const storage = new MemoryStorage();
  const log = await Log.open({ storage, signer: parseSignerKey(KEYS.signerKey) });
  return { app: buildApp({ log, storage, limits: DEFAULT_LIMITS, anonymousIngest }), log };
}

const otlpJson = {
  resourceSpans: [
    {
      scopeSpans: [
        {
          spans: [
            {
              traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
              spanId: '00f067aa0ba902b7',
              name: 'execute_tool delete_repo',
              startTimeUnixNano: '1764248701000000000',
              attributes: [
                { key: 'gen_ai.operation.name', value: { stringValue: 'execute_tool' } },
              ],
            },
          ],
        },
      ],
    },
  ],
};

describe('anonymous ingest', () => {
  it('off: an anonymous POST /v1/events is 401 credential_required and stores nothing', async () => {
    const { app, log } = await appWith('off');
    const res = await postJson(app, record());
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('credential_required');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(log.size).toBe(0);
  });

  it('off: an anonymous POST /v1/traces is 401 and stores nothing', async () => {
    const { app, log } = await appWith('off');
    const res = await app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(otlpJson),
    });
    expect(res.statusCode).toBe(401);
    expect(log.size).toBe(0);
  });

  it('asserted: an anonymous record is stored, attributed asserted and no higher', async () => {
    const { app } = await appWith('asserted');
    const res = await postJson(app, record());
    expect(res.statusCode).toBe(200);
    expect(res.json().accepted[0].attribution.level).toBe('asserted');
  });
});
