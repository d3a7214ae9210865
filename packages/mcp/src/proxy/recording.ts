/** The recorder a proxy records through: given, or made from the collector and an identity. */
import { createRecorder } from '@provenant/sdk';
import type { AgentIdentity, Recorder } from '@provenant/sdk';

export interface RecordingOptions {
  /** The collector (issuer, decision point, ledger), e.g. http://127.0.0.1:7410. */
  readonly collectorUrl: string;
  /** The proxy's own agent instance identity (or its file), when no `recorder` is given. */
  readonly identity?: AgentIdentity | string;
  /** The durable spool folder for collector outages (default: memory only). */
  readonly spoolDir?: string;
  /** Record through this recorder instead (the caller closes it). */
  readonly recorder?: Recorder;
}

export function recorderFor(o: RecordingOptions): { recorder: Recorder; owned: boolean } {
  if (o.recorder) return { recorder: o.recorder, owned: false };
  if (o.identity === undefined) throw new TypeError('The proxy needs an identity or a recorder.');
  return {
    recorder: createRecorder({
      collectorUrl: o.collectorUrl,
      identity: o.identity,
      spool: o.spoolDir !== undefined ? { dir: o.spoolDir } : false,
      batch: { maxDelayMs: 20 },
    }),
    owned: true,
  };
}
