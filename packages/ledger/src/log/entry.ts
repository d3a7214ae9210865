import type { PromiseProof } from './promise.js';
import type { EntryIndexFields } from '../storage/port.js';

/** A record ready for the log: canonical bytes already hashed, index columns extracted. */
export interface PreparedEntry extends EntryIndexFields {
  readonly canonical: string;
  readonly leafHash: Uint8Array;
}

export type AppendOutcome =
  | {
      readonly status: 'accepted';
      /** Null while the record waits in the ingest queue (queue mode); see `promise`. */
      readonly leafIndex: number | null;
      readonly duplicate: boolean;
      /** Queue mode: the signed promise of inclusion (`./promise.ts`). */
      readonly promise?: string;
      /** With a batch promise (`provenant.promise/v2`): this record's place in it. */
      readonly promiseProof?: PromiseProof;
    }
  | { readonly status: 'id_conflict'; readonly leafIndex: number | null };
