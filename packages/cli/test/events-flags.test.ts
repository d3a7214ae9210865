import { describe, expect, it } from 'vitest';
import { EVENT_FILTERS, eventsQuery } from '../src/commands/events.js';
import { EXIT } from '../src/lib/errors.js';
import { main } from '../src/main.js';

describe('provenant events flags', () => {
  it('maps every filter flag to the GET /v1/events parameter of the same name, newest first by default', () => {
    const values = Object.fromEntries(EVENT_FILTERS.map(([flag]) => [flag, `v-${flag}`]));
    const q = eventsQuery(values, 50);
    expect(Object.fromEntries(q)).toEqual({
      limit: '50',
      order: 'desc',
      initiator: 'v-initiator',
      actor: 'v-actor',
      type: 'v-type',
      task_id: 'v-task-id',
      trace_id: 'v-trace-id',
      level: 'v-level',
      from: 'v-from',
      to: 'v-to',
      action: 'v-action',
      resource: 'v-resource',
      outcome: 'v-outcome',
      q: 'v-q',
    });
    expect(eventsQuery({ order: 'asc' }, 7).toString()).toBe('limit=7&order=asc');
  });

  it('refuses an order that is neither asc nor desc as a usage error (exit 2)', async () => {
    let err = '';
    const code = await main(['events', '--order', 'sideways'], {
      env: {},
      out: () => undefined,
      err: (t) => (err += t),
    });
    expect(code).toBe(EXIT.usage);
    expect(err).toMatch(/--order must be asc or desc/);
  });
});
