import { HttpRecordExporter } from '../src/export/http.js';
import { InMemoryRecordExporter } from '../src/testing/index.js';
import { exporterContract } from './exporter-contract.js';

exporterContract('in memory', () => {
  const exporter = new InMemoryRecordExporter();
  return {
    exporter,
    received: () =>
      exporter.getExported().map((e) => ({ id: e.record.id, credential: e.credential })),
  };
});

exporterContract('HTTP (fake ingest)', () => {
  const got: { id: string; credential: string }[] = [];
  const ingest: typeof fetch = async (_url, init) => {
    const credential = new Headers(init?.headers).get('authorization')!.slice('Bearer '.length);
    const records = JSON.parse(String(init?.body)) as { id: string }[];
    for (const r of records) got.push({ id: r.id, credential });
    return new Response(
      JSON.stringify({ accepted: records.map((r) => ({ id: r.id })), rejected: [] }),
      { status: 200 },
    );
  };
  return {
    exporter: new HttpRecordExporter({
      collectorUrl: 'http://collector.invalid',
      fetch: ingest,
      spool: null,
      maxBatch: 100,
      maxDelayMs: 1,
      maxQueued: 100,
      overflow: 'block',
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 10 },
    }),
    received: () => got,
  };
});
