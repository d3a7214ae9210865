/**
 * Id squatting (issue 14, item 4): a record id is the client's choice (`/v1/events`) or a public
 * function of trace and span ids (`/v1/traces`), and the log keeps the first record of an id.
 * An anonymous record posted first under an agent's id must not keep the agent's verified record
 * out: it is stored beside the squat, flagged, and a retry is still a duplicate.
 */
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { otlpRecordId } from '../src/otlp/map.js';
import { aliceScenario } from './identity-helpers.js';
import { act, makeDetectingApp, postRecords, researcherId, readAsAdmin } from './ingest-helpers.js';

interface Stored {
  id: string;
  actor?: { id: string };
  attribution: { level: string; reasons: string[] };
  action?: { name: string; resource?: string; args?: Record<string, string> };
}

const get = async (app: FastifyInstance, id: string) =>
  (await readAsAdmin(app, `/v1/events/${id}`)).json() as Stored;

async function alerts(app: FastifyInstance): Promise<Stored[]> {
  const page = (await readAsAdmin(app, '/v1/events?type=security.alert&limit=1000')).json();
  return page.events as Stored[];
}

let n = 0;
/** An `execute_tool` span of the researcher, as OTLP/JSON. */
function span(traceId: string, spanId: string, tool: string) {
  const startNs = BigInt(Date.now()) * 1_000_000n + BigInt(n++);
  const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
  return {
    resourceSpans: [
      {
        scopeSpans: [
          {
            scope: { name: 'genai-instrumentation' },
            spans: [
              {
                traceId,
                spanId,
                name: `execute_tool ${tool}`,
                startTimeUnixNano: String(startNs),
                endTimeUnixNano: String(startNs + 1_000_000n),
                attributes: [
                  attr('gen_ai.operation.name', 'execute_tool'),
                  attr('gen_ai.tool.name', tool),
                  attr('gen_ai.agent.id', researcherId),
                  attr('enduser.id', 'alice'),
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

const postSpans = (app: FastifyInstance, body: unknown, bearer?: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: {
      'content-type': 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    payload: JSON.stringify(body),
  });

/** Every stored record of a trace. */
async function ofTrace(app: FastifyInstance, traceId: string): Promise<Stored[]> {
  return (await readAsAdmin(app, `/v1/events?trace_id=${traceId}&limit=100`)).json()
    .events as Stored[];
}

describe('id squatting on POST /v1/events (a client-chosen id)', () => {
  it('stores the verified record beside an anonymous squat, flags the squat, and keeps retries idempotent', async () => {
    const { app } = await makeDetectingApp();
    const s = await aliceScenario(app);
    const real = act();
    const squat = { ...real, action: { name: 'github.delete_repo', resource: 'repo:acme/x' } };
    const first = (await postRecords(app, squat, { client: '203.0.113.5' })).json();
    expect(first.accepted[0]).toMatchObject({ id: real.id, attribution: { level: 'asserted' } });

    const res = await postRecords(app, real, { bearer: s.researcherToken });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.rejected).toEqual([]);
    const [accepted] = body.accepted;
    expect(accepted).toMatchObject({ attribution: { level: 'verified' }, reclaimed_from: real.id });
    expect(accepted.id).not.toBe(real.id);
    const stored = await get(app, accepted.id);
    expect(stored.attribution).toMatchObject({ level: 'verified' });
    expect(stored.attribution.reasons).toContain('id_reclaimed');
    expect(stored.action?.name).toBe('github.get_file');
    expect((await get(app, real.id)).attribution.level).toBe('asserted');

    const flagged = (await alerts(app)).filter((a) => a.action?.name === 'ingest.id_squatted');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toMatchObject({
      attribution: { level: 'asserted', reasons: ['collector_alert', 'unverified_input'] },
      action: { resource: `record:${real.id}`, args: { reclaimed_record_id: accepted.id } },
    });

    // The same verified record re-posted: a duplicate, acknowledged with its leaf.
    const again = (await postRecords(app, real, { bearer: s.researcherToken })).json();
    expect(again.accepted).toEqual([accepted]);
    expect((await alerts(app)).filter((a) => a.action?.name === 'ingest.id_squatted')).toHaveLength(
      1,
    );
  });

  it('a verified agent cannot squat another verified agent’s id either', async () => {
    const { app } = await makeDetectingApp();
    const s = await aliceScenario(app);
    const real = act();
    const squat = { ...real, actor: { id: s.planner.id, kind: 'agent_instance' } };
    const first = (await postRecords(app, squat, { bearer: s.plannerToken })).json();
    expect(first.accepted[0]).toMatchObject({ id: real.id, attribution: { level: 'verified' } });
    const [accepted] = (await postRecords(app, real, { bearer: s.researcherToken })).json()
      .accepted;
    expect(accepted).toMatchObject({ attribution: { level: 'verified' }, reclaimed_from: real.id });
    const [flag] = (await alerts(app)).filter((a) => a.action?.name === 'ingest.id_squatted');
    // A verified squat is attributed: the alert names the planner, who wrote the id first.
    expect(flag).toMatchObject({
      attribution: { level: 'verified', reasons: ['collector_alert'] },
      actor: { id: s.planner.id },
    });
  });

  it('keeps id_conflict between records of one level, and a plain retry a duplicate', async () => {
    const { app } = await makeDetectingApp();
    const s = await aliceScenario(app);
    const real = act();
    const first = (await postRecords(app, real, { bearer: s.researcherToken })).json();
    const again = (await postRecords(app, real, { bearer: s.researcherToken })).json();
    expect(again.accepted).toEqual(first.accepted);
    // A weaker record never displaces a stronger one.
    const late = await postRecords(
      app,
      { ...real, action: { name: 'x.y' } },
      { client: '1.2.3.4' },
    );
    expect(late.json().rejected[0].code).toBe('id_conflict');
  });
});

describe('id squatting on POST /v1/traces (ids from trace and span ids)', () => {
  it("an anonymous span posted first does not keep the agent's verified span out", async () => {
    const { app } = await makeDetectingApp();
    const s = await aliceScenario(app);
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '10f067aa0ba902b7';
    const squat = await postSpans(app, span(traceId, spanId, 'delete_repo'));
    expect(squat.statusCode).toBe(200);
    expect((await get(app, otlpRecordId(traceId, spanId))).attribution.level).toBe('asserted');

    const real = span(traceId, spanId, 'get_file');
    for (let i = 0; i < 2; i++) {
      const res = await postSpans(app, real, s.researcherToken);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().partialSuccess ?? {}).toEqual({});
    }
    const records = await ofTrace(app, traceId);
    const verified = records.filter((r) => r.attribution.level === 'verified');
    // Stored once (the retry was a duplicate), beside the squat, under another id.
    expect(verified).toHaveLength(1);
    expect(verified[0]!.id).not.toBe(otlpRecordId(traceId, spanId));
    expect(verified[0]!.action?.name).toBe('get_file');
    expect(verified[0]!.attribution.reasons).toContain('id_reclaimed');
    const flagged = (await alerts(app)).filter((a) => a.action?.name === 'ingest.id_squatted');
    expect(flagged.map((a) => a.action?.resource)).toEqual([
      `record:${otlpRecordId(traceId, spanId)}`,
    ]);
  });
});
