/**
 * An exporter that keeps every record in memory, for tests (OpenTelemetry ships the same for
 * spans): nothing leaves the process, and intents are durable the moment they are held.
 */
import type { EventRecord } from '@provenant/core';
import {
  IDLE_STATS,
  type ExportBatch,
  type ExporterStats,
  type RecordExporter,
} from './exporter.js';

export interface ExportedRecord {
  readonly record: EventRecord;
  /** The credential it was made under. */
  readonly credential: string;
  /** The Transaction Token it was made in, when its session had one. */
  readonly txnToken?: string;
  /** Whether it was exported as an intent (durable before the tool ran). */
  readonly durable: boolean;
}

export class InMemoryRecordExporter implements RecordExporter {
  /** Each record is held the moment it is made: a test reads it right after the call. */
  readonly eager = true;
  private readonly held: ExportedRecord[] = [];
  private stopped = false;

  export(batch: ExportBatch): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('the exporter is shut down'));
    for (const record of batch.records) {
      this.held.push({
        record,
        credential: batch.credential,
        ...(batch.txnToken !== undefined ? { txnToken: batch.txnToken } : {}),
        durable: batch.durable === true,
      });
    }
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  drain(): Promise<boolean> {
    return Promise.resolve(true);
  }

  stats(): ExporterStats {
    return { ...IDLE_STATS, delivered: this.held.length };
  }

  /** Every record exported so far, in order. */
  getFinishedRecords(): EventRecord[] {
    return this.held.map((h) => h.record);
  }

  /** The records with the credential each was exported under. */
  getExported(): readonly ExportedRecord[] {
    return this.held;
  }

  reset(): void {
    this.held.length = 0;
  }
}
