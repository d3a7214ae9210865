import { GRANT_RECORD_TYPES, uuidv7Time } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import {
  buildEvidenceBundle,
  chainRecords,
  checkChain,
  includedCheck,
  joinChain,
  narrate,
  openNote,
  parseCheckpoint,
  verifyInclusion,
} from '@provenant/ledger';
import type {
  ChainCheck,
  ChainOptions,
  ChainRole,
  EntryFilter,
  EvidenceBundle,
  Log,
  LogStorage,
  StoredEntry,
} from '@provenant/ledger';
import { recordWithIntegrity } from '../routes/records.js';

/**
 * The I/O half of provenance: finds the witness records an action's chain can involve with the
 * storage port's existing filters (time windows, type, initiator; no jti index is needed), then
 * hands them to the pure joining and checks in `@provenant/ledger` (`joinChain`, `checkChain`),
 * and proves every record of the chain included under the latest signed checkpoint.
 *
 * Cost: one one-second time-index read per credential of the chain and one for the decision, two
 * reads of the rare revocation and alert types, plus O(log n) node reads per record of the
 * chain for its inclusion proof. The fallback (ids that are not UUIDv7s, a missing grant) reads
 * the initiator's grants of two hours, capped at MAX_CANDIDATES per type.
 */

/** Credentials live at most an hour; a chain's root is at most that much older than its action. */
const WINDOW_US = 2 * 3600 * 1_000_000;
const PAGE = 1000;
/** Most witness records of one type read for one action; more means a pathological initiator. */
const MAX_CANDIDATES = 20_000;

export interface ProvenanceAnswer {
  readonly subject: string;
  /** Every check passed. */
  readonly ok: boolean;
  readonly narrative: string[];
  readonly checks: ChainCheck[];
  readonly chain: {
    role: ChainRole;
    id: string;
    type: string;
    time: string;
    leaf_index: number;
  }[];
  readonly evidence: EvidenceBundle;
}

const parse = (e: StoredEntry): EventRecord => JSON.parse(e.canonical) as EventRecord;

async function queryAll(storage: LogStorage, filter: Omit<EntryFilter, 'limit'>) {
  const out: StoredEntry[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await storage.queryEntries({
      ...filter,
      limit: PAGE,
      ...(after === undefined ? {} : { afterLeafIndex: after }),
    });
    out.push(...page);
    if (page.length < PAGE || out.length >= MAX_CANDIDATES) return out;
    after = page.at(-1)!.leafIndex;
  }
}

const GRANT_TYPES: ReadonlySet<string> = new Set(GRANT_RECORD_TYPES);
const DECISION_TYPES: ReadonlySet<string> = new Set(['policy.decision']);
/** The issuer and decision point write their record within this of minting its UUIDv7 id. */
const NEAR_US = 1_000_000;
/** Most records read around one id; a busier second falls back to the indexed window. */
const MAX_NEAR_SCAN = 20_000;

/**
 * Records of these types and initiator written within NEAR_US of the time in a UUIDv7 id (jtis
 * and decision ids are UUIDv7s minted as their witness record is written). Filtering on time
 * alone makes the driver use its time index, so this reads only that second of the log; null
 * when the id is not a UUIDv7 or the second is too busy.
 */
async function near(
  storage: LogStorage,
  id: string,
  types: ReadonlySet<string>,
  initiator: string,
): Promise<StoredEntry[] | null> {
  let ms: number;
  try {
    ms = uuidv7Time(id);
  } catch {
    return null;
  }
  const out: StoredEntry[] = [];
  let after: number | undefined;
  for (let scanned = 0; ;) {
    const page = await storage.queryEntries({
      fromUs: ms * 1000 - NEAR_US,
      toUs: ms * 1000 + NEAR_US,
      limit: PAGE,
      ...(after === undefined ? {} : { afterLeafIndex: after }),
    });
    for (const e of page) if (types.has(e.type) && e.initiator === initiator) out.push(e);
    scanned += page.length;
    if (page.length < PAGE) return out;
    if (scanned >= MAX_NEAR_SCAN) return null;
    after = page.at(-1)!.leafIndex;
  }
}

/**
 * The witness records an action's chain may draw on. Grants and the decision are looked up by
 * the time in their UUIDv7 ids (the leaf grant's `ancestors` name every parent), so a chain costs
 * a few one-second reads whatever the initiator's activity; only when that misses does it fall
 * back to reading every grant or decision of the initiator in the two hours around the action.
 * Revocations and alerts (rare types) are read by type, initiator and time.
 */
async function candidates(storage: LogStorage, action: EventRecord): Promise<StoredEntry[]> {
  const initiator = action.initiator?.id;
  if (initiator === undefined) return [];
  const at = Date.parse(action.time) * 1000;
  const window = { initiator, fromUs: at - WINDOW_US, toUs: at + WINDOW_US };
  const broad = (type: string) => queryAll(storage, { ...window, type });
  const hasJti = (entries: readonly StoredEntry[], jti: string) =>
    entries.find((e) => e.type !== 'policy.decision' && parse(e).credential?.jti === jti);

  const grants: StoredEntry[] = [];
  const leafJti = action.credential?.jti;
  if (leafJti !== undefined) {
    let complete = false;
    const leaf = hasJti((await near(storage, leafJti, GRANT_TYPES, initiator)) ?? [], leafJti);
    if (leaf) {
      grants.push(leaf);
      const ancestors = parse(leaf).credential?.ancestors ?? [];
      const found = await Promise.all(
        ancestors.map(async (jti) =>
          hasJti((await near(storage, jti, GRANT_TYPES, initiator)) ?? [], jti),
        ),
      );
      complete = found.every((f) => f !== undefined);
      for (const f of found) if (f) grants.push(f);
    }
    if (!complete) {
      grants.push(...(await broad('credential.issued')), ...(await broad('delegation.granted')));
    }
  }
  const decisionId = action.policy?.decision_id;
  let decisions: StoredEntry[] = [];
  if (decisionId !== undefined) {
    decisions = (await near(storage, decisionId, DECISION_TYPES, initiator)) ?? [];
    if (!decisions.some((e) => parse(e).policy?.decision_id === decisionId)) {
      decisions = await broad('policy.decision');
    }
  }
  const [revocations, alerts] = await Promise.all([
    // Written whenever they happen; a later one still matters to the investigator.
    queryAll(storage, { initiator, fromUs: at - WINDOW_US, type: 'credential.revoked' }),
    queryAll(storage, { initiator, fromUs: at - WINDOW_US, type: 'security.alert' }),
  ]);
  const unique = new Map<string, StoredEntry>();
  for (const e of [...grants, ...decisions, ...revocations, ...alerts]) unique.set(e.id, e);
  return [...unique.values()];
}

export interface ProvenanceDeps {
  readonly storage: LogStorage;
  readonly log: Log;
  readonly chainOptions: ChainOptions;
}

/** The chain of responsibility of one stored action, with its checks and evidence bundle. */
export async function provenanceOf(
  deps: ProvenanceDeps,
  entry: StoredEntry,
): Promise<ProvenanceAnswer> {
  const action = parse(entry);
  const found = await candidates(deps.storage, action);
  const byId = new Map<string, StoredEntry>(found.map((e) => [e.id, e]));
  byId.set(entry.id, entry);
  const chain = joinChain(
    action,
    found.filter((e) => e.id !== entry.id).map(parse),
    deps.chainOptions,
  );
  const members = chainRecords(chain);

  // A record committed a moment ago may not be under the checkpoint read here yet: wait for it.
  let checkpoint = deps.log.latestCheckpoint();
  const highest = Math.max(...members.map((m) => byId.get(m.record.id)!.leafIndex));
  for (let i = 0; i < 50 && highest >= checkpoint.size; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    checkpoint = deps.log.latestCheckpoint();
  }
  const root = parseCheckpoint(openNote(checkpoint.note, [deps.log.noteVerifier()]).text).rootHash;
  const proved = await Promise.all(
    members.map(async (m) => {
      const stored = byId.get(m.record.id)!;
      const hashes = await deps.log.inclusionProof(stored.leafIndex, checkpoint.size);
      let included = true;
      try {
        verifyInclusion(stored.leafHash, stored.leafIndex, checkpoint.size, hashes, root);
      } catch {
        included = false;
      }
      return { m, stored, hashes, included };
    }),
  );
  const checks = [
    ...checkChain(chain, deps.chainOptions),
    ...proved.map((p) =>
      includedCheck(
        p.m.record.id,
        p.included,
        p.included
          ? `leaf ${p.stored.leafIndex} of the signed tree of ${checkpoint.size}`
          : 'not proven included',
      ),
    ),
  ];
  const narrative = narrate(chain);
  const evidence = buildEvidenceBundle({
    subject: entry.id,
    verifierKey: deps.log.verifierKey,
    checkpoint: checkpoint.note,
    treeSize: checkpoint.size,
    records: proved.map((p) => ({
      role: p.m.role,
      record: JSON.parse(recordWithIntegrity(p.stored)) as Record<string, unknown>,
      leafIndex: p.stored.leafIndex,
      hashes: p.hashes,
    })),
    narrative,
    checks,
  });
  return {
    subject: entry.id,
    ok: checks.every((c) => c.ok),
    narrative,
    checks,
    chain: proved.map((p) => ({
      role: p.m.role,
      id: p.stored.id,
      type: p.stored.type,
      time: p.m.record.time,
      leaf_index: p.stored.leafIndex,
    })),
    evidence,
  };
}
