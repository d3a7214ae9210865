/**
 * What the browser itself checked of an evidence bundle, in words: the checkpoint's signature
 * against the pinned key and each record's inclusion proof. It never speaks of attribution
 * (who sent a record): a record claimed without a credential is included all the same.
 */

/** The parts of the browser's verification result the sentence is made from. */
export interface VerifiedBundle {
  readonly checkpointOk: boolean;
  readonly checkpointDetail: string;
  readonly entries: readonly { readonly ok: boolean }[];
}

export interface BrowserVerdict {
  readonly ok: boolean;
  readonly text: string;
}

export function browserVerdict(
  result: VerifiedBundle | null,
  keyError: string | null,
  pinChanged: boolean,
): BrowserVerdict {
  if (keyError !== null || result === null) {
    return { ok: false, text: `Not checked: the pinned key is unusable (${keyError ?? 'none'}).` };
  }
  if (pinChanged) {
    return { ok: false, text: 'Not checked: the served verifier key is not the pinned one.' };
  }
  if (!result.checkpointOk) {
    return { ok: false, text: `Signature FAILED: ${result.checkpointDetail}.` };
  }
  const n = result.entries.length;
  const included = result.entries.filter((e) => e.ok).length;
  const records = `${included} of ${n} record${n === 1 ? '' : 's'}`;
  if (included < n) {
    return {
      ok: false,
      text: `Checkpoint signature valid (${result.checkpointDetail}); inclusion FAILED: only ${records} proven included in the signed log.`,
    };
  }
  return {
    ok: true,
    text: `Checkpoint signature valid (${result.checkpointDetail}); ${records} proven included in the signed log.`,
  };
}
