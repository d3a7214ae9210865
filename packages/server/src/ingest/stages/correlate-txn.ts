import type { Correlation } from '@provenant/core';
import type { Draft, Stage } from '../draft.js';

/**
 * The record's `correlation` is the collector's: the verified Txn-Token of the request
 * (`identity/txn-token.ts`), or none. A `correlation` the sender wrote itself is dropped, as
 * its `attribution` is: nobody claims a transaction id the collector did not verify.
 */
export function correlateTxn(correlation: Correlation | null): Stage {
  return (draft: Draft): Draft => {
    // A spread that replaces the field (not a rest copy without it): one copy a record, the
    // cheaper one (the Txn-Token ingest benchmark, bench/workload-identity.js).
    if (correlation !== null) return { ...draft, record: { ...draft.record, correlation } };
    if (draft.record.correlation === undefined) return draft;
    const { correlation: _sent, ...rest } = draft.record;
    return { ...draft, record: rest };
  };
}
