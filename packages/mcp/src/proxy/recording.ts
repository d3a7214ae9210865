/** The recorder a proxy records through: given, or made from the collector and an identity. */
import { createRecorder, readIdentityFile } from '@provenant/sdk';
import type { AgentIdentity, Recorder } from '@provenant/sdk';
import { receiptSigner } from '../receipt.js';
import type { ReceiptSigner } from '../receipt.js';

export interface RecordingOptions {
  /** The collector (issuer, decision point, ledger), e.g. http://127.0.0.1:7410. */
  readonly collectorUrl: string;
  /** The proxy's own agent instance identity (or its file), when no `recorder` is given. */
  readonly identity?: AgentIdentity | string;
  /** The durable spool folder for collector outages (default: memory only). */
  readonly spoolDir?: string;
  /** Record through this recorder instead (the caller closes it). */
  readonly recorder?: Recorder;
  /**
   * Put a signed receipt in each gated call's result (`_meta["io.provenant/receipt"]`, see
   * receipt.ts), signed with `identity`'s key. Default false: results stay the server's bytes.
   */
  readonly receipts?: boolean;
}

/** The receipt signer the options ask for (needs `identity`). */
export function receiptsFor(o: RecordingOptions): ReceiptSigner | undefined {
  if (!o.receipts) return undefined;
  if (o.identity === undefined) throw new TypeError('Receipts need the proxy identity (its key).');
  const identity = typeof o.identity === 'string' ? readIdentityFile(o.identity) : o.identity;
  return receiptSigner(identity, o.collectorUrl);
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
