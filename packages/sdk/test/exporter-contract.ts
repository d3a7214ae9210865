// What every RecordExporter must do, run against each implementation (exporter.test.ts).
import type { EventRecord } from '@provenant/core';
import { describe, expect, it } from 'vitest';
import type { RecordExporter } from '../src/index.js';

export interface ExporterUnderTest {
  readonly exporter: RecordExporter;
  /** The records the far side holds, in the order it got them, with their credentials. */
  received(): { id: string; credential: string }[];
}

const rec = (n: number) =>
  ({ schema: 'provenant.event/v1', id: `r${n}`, type: 'tool.called' }) as unknown as EventRecord;

export function exporterContract(name: string, make: () => ExporterUnderTest): void {
  describe(`RecordExporter contract: ${name}`, () => {
    it('hands on every record once, in order, with the credential it was made under', async () => {
      const t = make();
      await t.exporter.export({ records: [rec(1), rec(2)], credential: 'A' });
      await t.exporter.export({ records: [rec(3)], credential: 'B' });
      await t.exporter.forceFlush();
      expect(t.received()).toEqual([
        { id: 'r1', credential: 'A' },
        { id: 'r2', credential: 'A' },
        { id: 'r3', credential: 'B' },
      ]);
      await t.exporter.shutdown();
    });

    it('resolves a durable export only once the record is held, after those before it', async () => {
      const t = make();
      void t.exporter.export({ records: [rec(1)], credential: 'A' });
      await t.exporter.export({ records: [rec(2)], credential: 'A', durable: true });
      expect(t.received().map((r) => r.id)).toEqual(['r1', 'r2']);
      await t.exporter.shutdown();
    });

    it('reports what it delivered, and drains', async () => {
      const t = make();
      await t.exporter.export({ records: [rec(1)], credential: 'A' });
      expect((await t.exporter.drain?.(5_000)) ?? true).toBe(true);
      expect(t.exporter.stats?.()).toMatchObject({ delivered: 1, queued: 0, rejected: 0 });
      await t.exporter.shutdown();
    });
  });
}
