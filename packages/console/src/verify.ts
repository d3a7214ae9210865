/**
 * The evidence bundle checked in this browser against the pinned verifier key, with the one
 * verifier (`@provenant/core/verify`, WebCrypto) that the CLI and the collector also run: the
 * checkpoint's signature, each record's leaf, inclusion proof and tlog-proof. Nothing here trusts
 * the server; this module only shapes the verifier's answer for the views.
 */
import { parseVerifierKey, verifyEvidenceProofs } from '@provenant/core/verify';
import type { NoteVerifierKey } from '@provenant/core/verify';

export interface BundleEntry {
  role: string;
  record: Record<string, unknown>;
  proof: { leaf_index: number; tree_size: number; hashes: string[] };
  tlog_proof: string;
}

export interface Bundle {
  verifier_key: string;
  checkpoint: string;
  entries: BundleEntry[];
}

export interface EntryResult {
  id: string;
  role: string;
  ok: boolean;
  detail: string;
}

export interface BundleResult {
  checkpointOk: boolean;
  checkpointDetail: string;
  treeSize: number | null;
  entries: EntryResult[];
}

/** The pinned key as typed (surrounding whitespace ignored). */
export const parsePinnedKey = (s: string): Promise<NoteVerifierKey> => parseVerifierKey(s.trim());

export async function verifyBundle(bundle: Bundle, vk: NoteVerifierKey): Promise<BundleResult> {
  const { checkpoint, failures, entries } = await verifyEvidenceProofs(bundle, vk);
  const rejected = failures.find((f) => f.where === 'checkpoint');
  return {
    checkpointOk: checkpoint !== null,
    checkpointDetail: checkpoint
      ? `signed by ${vk.name}, tree size ${checkpoint.size}`
      : `checkpoint rejected: ${rejected?.message ?? 'not verified'}`,
    treeSize: checkpoint?.size ?? null,
    entries: entries.map((e, i) => ({
      id: String(bundle.entries[i]?.record?.['id']),
      role: String(e.role),
      ok: e.included,
      detail: e.included
        ? `leaf ${bundle.entries[i]!.proof.leaf_index} included in the signed tree of ${checkpoint!.size}`
        : e.failures.map((f) => f.message).join('; ') || 'no verified checkpoint',
    })),
  };
}
