/**
 * The record exporter port, in OpenTelemetry's exporter shape: the recorder hands it the
 * records it makes, and it gets them to the ledger (over HTTP with a disk spool, in
 * `http.ts`) or keeps them (in memory, for tests: `@provenant/sdk/testing`).
 */
import type { EventRecord } from '@provenant/core';

export interface ExportBatch {
  /** Records in the order they were made. */
  readonly records: readonly EventRecord[];
  /** The credential they were made under: the collector checks them against each other. */
  readonly credential: string;
  /**
   * The Transaction Token they were made in, sent beside the credential in the `Txn-Token`
   * header (the collector verifies it and records its `txn`). Not kept in the spool.
   */
  readonly txnToken?: string;
  /**
   * An intent: `export` resolves only once the records are acknowledged or on disk, and
   * rejects (`IntentNotDurableError`) when they cannot be; the tool does not run until then.
   */
  readonly durable?: boolean;
}

/** What an exporter reports about itself (the recorder adds what it counts). */
export interface ExporterStats {
  /** Acknowledged by the collector (accepted, or already stored). */
  delivered: number;
  /** Refused by the collector (see `rejected.ndjson` in the spool folder). */
  rejected: number;
  /** Written to the spool. */
  spooled: number;
  /** Sent from the spool after an outage. */
  replayed: number;
  /** HTTP attempts that failed and were retried. */
  retries: number;
  /** Intent records neither the collector nor the spool could take (their tools did not run). */
  refusedIntents: number;
  /** In memory, waiting. */
  queued: number;
  /** Spool file size. */
  spoolBytes: number;
  /** Whether the collector is currently reached directly or through the spool. */
  mode: 'direct' | 'spool';
}

/** The counters of an exporter that has sent nothing (and of one that counts nothing). */
export const IDLE_STATS: Readonly<ExporterStats> = {
  delivered: 0,
  rejected: 0,
  spooled: 0,
  replayed: 0,
  retries: 0,
  refusedIntents: 0,
  queued: 0,
  spoolBytes: 0,
  mode: 'direct',
};

/**
 * Where records go. `export` never blocks a non-durable batch (it resolves once the records
 * are queued); admission (`admit`) is checked before a tool runs, so queuing always has room.
 */
export interface RecordExporter {
  export(batch: ExportBatch): Promise<void>;
  /**
   * Optional: true to be handed each record the moment it is made (the in-memory exporter, so
   * a test reads a call's records as soon as the call returns). Otherwise the recorder builds
   * records (their digests included) after the call and hands them over in batches: on the
   * next turn of the event loop, before an intent, on `flush`, `drain` and `close`.
   */
  readonly eager?: boolean;
  /** Hands every queued record on (to the collector or the spool); resolves when tried. */
  forceFlush(): Promise<void>;
  /** Flushes, then refuses further work and releases what the exporter holds (files, timers). */
  shutdown(): Promise<void>;
  /**
   * Optional: room before a tool runs — null when there is room, otherwise wait (a promise),
   * drop the record (`'drop'`, low-risk only), or throw (nothing has run yet). `pending`:
   * records the recorder made and has not handed over yet (count them as queued; when there
   * is no room, the recorder hands them over at once).
   */
  admit?(lowRisk: boolean, pending?: number): null | 'drop' | Promise<void>;
  /** Optional: resolves true once everything is acknowledged downstream; false on timeout. */
  drain?(timeoutMs?: number): Promise<boolean>;
  /** Optional: counters for `recorder.stats()`. */
  stats?(): ExporterStats;
}
