import type { EventRecord } from '@provenant/core';
import { formatTlogProof, verifyEvidenceProofsSteps } from '@provenant/core/verify';
import type { BundleFailure, Checkpoint, NoteVerifierKey } from '@provenant/core/verify';
import { runNode } from '../lib/node-crypto.js';
import { encodeBase64 } from '../note/base64.js';
import { DEFAULT_CHAIN_OPTIONS, chainRecords, checkChain, joinChain, narrate } from './chain.js';
import type { ChainCheck, ChainOptions, ChainRole } from './chain.js';
import type { EvidenceErrorCode } from './errors.js';

export type { BundleFailure } from '@provenant/core/verify';

/**
 * An evidence bundle (`provenant.evidence/v1`): every record of one action's chain of
 * responsibility, each with its inclusion proof (as JSON and as a C2SP tlog-proof) against one
 * signed checkpoint, plus the narrative and checks the records give. It verifies offline with
 * nothing but the log's verifier key: every part is either signed (the checkpoint), bound to the
 * signed root (records, proofs), or recomputed from those (roles, narrative, checks), and the
 * file must be in its canonical layout, so an edit of any byte fails.
 */
export const EVIDENCE_FORMAT = 'provenant.evidence/v1';

export interface EvidenceEntry {
  readonly role: ChainRole;
  /** The record as served, with `integrity`. */
  readonly record: Record<string, unknown>;
  readonly proof: { leaf_index: number; tree_size: number; hashes: string[] };
  readonly tlog_proof: string;
}

export interface EvidenceBundle {
  readonly format: typeof EVIDENCE_FORMAT;
  readonly subject: string;
  readonly verifier_key: string;
  readonly checkpoint: string;
  readonly entries: EvidenceEntry[];
  readonly narrative: string[];
  readonly checks: ChainCheck[];
}

export interface ProvedRecord {
  readonly role: ChainRole;
  /** The record with `integrity`. */
  readonly record: Record<string, unknown>;
  readonly leafIndex: number;
  readonly hashes: readonly Uint8Array[];
}

/** The inclusion check of a record as it appears among a chain's checks. */
export const includedCheck = (recordId: string, ok: boolean, detail: string): ChainCheck => ({
  id: `included:${recordId}`,
  ok,
  detail,
});

export function buildEvidenceBundle(input: {
  subject: string;
  verifierKey: string;
  checkpoint: string;
  treeSize: number;
  records: readonly ProvedRecord[];
  narrative: readonly string[];
  checks: readonly ChainCheck[];
}): EvidenceBundle {
  return {
    format: EVIDENCE_FORMAT,
    subject: input.subject,
    verifier_key: input.verifierKey,
    checkpoint: input.checkpoint,
    entries: input.records.map((r) => ({
      role: r.role,
      record: r.record,
      proof: {
        leaf_index: r.leafIndex,
        tree_size: input.treeSize,
        hashes: r.hashes.map(encodeBase64),
      },
      tlog_proof: formatTlogProof({
        index: r.leafIndex,
        hashes: r.hashes,
        checkpoint: input.checkpoint,
      }),
    })),
    narrative: [...input.narrative],
    checks: input.checks.map((c) => ({ id: c.id, ok: c.ok, detail: c.detail })),
  };
}

/** The bundle's file form: the one layout the verifier accepts. */
export function formatEvidenceBundle(bundle: EvidenceBundle): string {
  return `${JSON.stringify(bundle, null, 2)}\n`;
}

export interface BundleVerification {
  /** The bundle is authentic and consistent: every part signed, bound or recomputed. */
  readonly authentic: boolean;
  readonly failures: BundleFailure[];
  readonly checkpoint: Checkpoint | null;
  /** The chain's checks as recomputed from the records (inclusion included). */
  readonly checks: ChainCheck[];
  readonly narrative: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const sameKeys = (o: Record<string, unknown>, keys: readonly string[]) =>
  Object.keys(o).length === keys.length && keys.every((k) => Object.hasOwn(o, k));

/**
 * Verifies a bundle file offline against the verifier key the caller trusts. Never throws on
 * bad input: every problem is a failure naming the part that failed.
 */
export function verifyEvidenceBundle(
  text: string,
  verifier: NoteVerifierKey,
  verifierKeyString: string,
  options: ChainOptions = DEFAULT_CHAIN_OPTIONS,
): BundleVerification {
  const failures: BundleFailure[] = [];
  const fail = (code: EvidenceErrorCode, where: string, message: string) =>
    failures.push({ code, where, message });
  const result = (checkpoint: Checkpoint | null, checks: ChainCheck[], narrative: string[]) => ({
    authentic: failures.length === 0,
    failures,
    checkpoint,
    checks,
    narrative,
  });

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail('malformed_bundle', 'file', `not JSON: ${(e as Error).message}`);
    return result(null, [], []);
  }
  const keys = [
    'format',
    'subject',
    'verifier_key',
    'checkpoint',
    'entries',
    'narrative',
    'checks',
  ];
  if (
    !isObject(parsed) ||
    !sameKeys(parsed, keys) ||
    parsed['format'] !== EVIDENCE_FORMAT ||
    typeof parsed['subject'] !== 'string' ||
    typeof parsed['verifier_key'] !== 'string' ||
    typeof parsed['checkpoint'] !== 'string' ||
    !Array.isArray(parsed['entries']) ||
    !Array.isArray(parsed['narrative']) ||
    !Array.isArray(parsed['checks'])
  ) {
    fail('malformed_bundle', 'file', `not a ${EVIDENCE_FORMAT} bundle`);
    return result(null, [], []);
  }
  const bundle = parsed as unknown as EvidenceBundle;
  if (formatEvidenceBundle(bundle) !== text) {
    fail(
      'malformed_bundle',
      'file',
      'the file is not in its canonical layout: a byte outside the records was edited',
    );
  }
  if (bundle.verifier_key.trim() !== verifierKeyString.trim()) {
    fail('wrong_key', 'verifier_key', `the bundle names key ${bundle.verifier_key.slice(0, 200)}`);
  }

  // The checkpoint and every entry's proofs: the runtime-neutral verifier's rules.
  const proofs = runNode(verifyEvidenceProofsSteps(bundle, verifier));
  const checkpoint = proofs.checkpoint;
  failures.push(...proofs.failures);
  const records = proofs.entries.flatMap((e) =>
    e.record === null
      ? []
      : [{ role: e.role, record: e.record as unknown as EventRecord, included: e.included }],
  );

  // The joins: the roles, narrative and checks must be what the records themselves give.
  const actions = records.filter((r) => r.role === 'action');
  if (actions.length !== 1 || actions[0]!.record.id !== bundle.subject) {
    fail(
      'join_mismatch',
      'entries',
      `exactly one action record with id ${bundle.subject} is required`,
    );
    return result(checkpoint, [], []);
  }
  const action = actions[0]!.record;
  const chain = joinChain(
    action,
    records.filter((r) => r.role !== 'action').map((r) => r.record),
    options,
  );
  const expected = chainRecords(chain).map((r) => `${r.role} ${r.record.id}`);
  const got = records.map((r) => `${String(r.role)} ${r.record.id}`);
  if (records.length === bundle.entries.length && expected.join('\n') !== got.join('\n')) {
    fail(
      'join_mismatch',
      'entries',
      `the records join as [${expected.join(', ')}], not as listed [${got.join(', ')}]`,
    );
  }
  const checks = [
    ...checkChain(chain, options),
    ...records.map((r) =>
      includedCheck(
        r.record.id,
        r.included,
        r.included
          ? `leaf ${String((r.record as { integrity?: { leaf_index?: number } }).integrity?.leaf_index)} of the signed tree of ${checkpoint?.size}`
          : 'not proven included',
      ),
    ),
  ];
  const narrative = narrate(chain);
  if (JSON.stringify(narrative) !== JSON.stringify(bundle.narrative)) {
    fail('narrative_mismatch', 'narrative', 'the narrative is not what the records say');
  }
  if (JSON.stringify(checks) !== JSON.stringify(bundle.checks)) {
    const diff = checks.find((c, k) => JSON.stringify(c) !== JSON.stringify(bundle.checks[k]));
    fail(
      'checks_mismatch',
      'checks',
      `the checks are not what the records give${diff ? ` (first difference: ${diff.id})` : ''}`,
    );
  }
  return result(checkpoint, checks, narrative);
}
