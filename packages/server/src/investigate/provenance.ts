import { GRANT_RECORD_TYPES, POLICY_CHANGED_RECORD_TYPE, uuidv7Time } from '@provenant/core';
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
import { COLLECTOR_PRINCIPAL } from '../identity/service.js';

/**
 * The I/O half of provenance: finds the witness records an action's chain can involve with the
 * storage port's existing filters (time windows, type, initiator; no jti index is needed), then
 * hands them to the pure joining and checks in `@provenant/ledger` (`joinChain`, `checkChain`),
 * and proves every record of the chain included under the latest signed checkpoint.
 *
 * Cost: one one-second time-index read per credential of the chain and one for the decision, five
 * reads of rare types (revocations, alerts, and the remediations: principal.disabled,
 * issuer.key_rotated, policy.changed), plus O(log n) node reads per record of the
 * chain for its inclusion proof. The fallback (ids that are not UUIDv7s, a missing grant) reads
 * the initiator's grants of two hours.
 *
 * Bounded, whatever was planted in the log: every search asks for verified rows only, in pages
 * of PAGE rows (the event loop turns between them), at most SCAN_BUDGET rows per request, at
 * most MAX_ANCESTORS credentials followed; only rows whose index fields say "written by the
 * witness" are parsed. A request that hits a bound answers what it found, `truncated`, and not
 * `ok`.
 */

/** Credentials live at most an hour; a chain's root is at most that much older than its action. */
const WINDOW_US = 2 * 3600 * 1_000_000;
const PAGE = 500;
/** Most rows one provenance request reads in all. */
export const SCAN_BUDGET = 20_000;
/** Most rows one lookup reads (a second around an id, one type in the window). */
const MAX_LOOKUP = 5_000;
/** Most parent credentials followed (joinChain keeps 16 grants): a planted grant naming more stops here. */
const MAX_ANCESTORS = 15;

export interface ProvenanceAnswer {
  readonly subject: string;
  /** Every check passed, and the search for the chain's records was complete. */
  readonly ok: boolean;
  /**
   * The search hit a bound (SCAN_BUDGET, a lookup's size): records of the chain may be
   * missing, so the answer is not `ok`. `truncated_reason` says which search was cut.
   */
  readonly truncated: boolean;
  readonly truncated_reason: string | null;
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

/** The reads of one provenance request, within SCAN_BUDGET rows. */
class BoundedScan {
  private left: number;
  readonly cuts: string[] = [];
  constructor(
    private readonly storage: LogStorage,
    private readonly bounds: ProvenanceBounds,
  ) {
    this.left = bounds.budget;
  }

  /**
   * Entries matching the filter and `keep`, in pages, reading at most the lookup bound (and
   * what is left of the budget); `complete` is false when rows may have been left unread.
   */
  async read(
    filter: Omit<EntryFilter, 'limit'>,
    keep: (e: StoredEntry) => boolean,
  ): Promise<{ entries: StoredEntry[]; complete: boolean }> {
    const entries: StoredEntry[] = [];
    let after: number | undefined;
    for (let scanned = 0; ;) {
      const room = Math.min(this.bounds.lookup - scanned, this.left);
      if (room <= 0) return { entries, complete: false };
      const page = await this.storage.queryEntries({
        ...filter,
        limit: Math.min(PAGE, room),
        ...(after === undefined ? {} : { afterLeafIndex: after }),
      });
      scanned += page.length;
      this.left -= page.length;
      for (const e of page) if (keep(e)) entries.push(e);
      if (page.length < Math.min(PAGE, room)) return { entries, complete: true };
      after = page.at(-1)!.leafIndex;
    }
  }

  /** `read`, noting a cut under `what` (what is found is used all the same). */
  async all(
    what: string,
    filter: Omit<EntryFilter, 'limit'>,
    keep: (e: StoredEntry) => boolean,
  ): Promise<StoredEntry[]> {
    const { entries, complete } = await this.read(filter, keep);
    if (!complete) this.cuts.push(what);
    return entries;
  }
}

const GRANT_TYPES: ReadonlySet<string> = new Set(GRANT_RECORD_TYPES);
const DECISION_TYPES: ReadonlySet<string> = new Set(['policy.decision']);
/** The record types that may carry a remediation (besides revocations), and who writes each. */
const REMEDIATION_TYPES: readonly (readonly [string, (o: ChainOptions) => string])[] = [
  ['principal.disabled', (o) => o.collector ?? COLLECTOR_PRINCIPAL],
  ['issuer.key_rotated', (o) => o.issuer],
  [POLICY_CHANGED_RECORD_TYPE, (o) => o.decisionPoint],
];
/** The issuer and decision point write their record within this of minting its UUIDv7 id. */
const NEAR_US = 1_000_000;

/**
 * Records of these types, initiator and witness written within NEAR_US of the time in a UUIDv7
 * id (jtis and decision ids are UUIDv7s minted as their witness record is written). Filtering
 * on time and level only makes the driver use its time index, so this reads only that second;
 * null when the id is not a UUIDv7 or the second is too busy to read whole.
 */
async function near(
  scan: BoundedScan,
  id: string,
  types: ReadonlySet<string>,
  initiator: string,
  witness: string,
): Promise<StoredEntry[] | null> {
  let ms: number;
  try {
    ms = uuidv7Time(id);
  } catch {
    return null;
  }
  const { entries, complete } = await scan.read(
    { fromUs: ms * 1000 - NEAR_US, toUs: ms * 1000 + NEAR_US, level: 'verified' },
    (e) => types.has(e.type) && e.initiator === initiator && isWitness(e, witness),
  );
  return complete ? entries : null;
}

/**
 * Whether the index fields allow the row to be a witness record of `actor`: written as verified
 * by that actor. Every search asks the storage for verified rows only (the collector's witness
 * records are verified; a producer can plant verified rows only of its own initiator), so
 * planted rows never leave the storage; this drops other verified actors' rows before any JSON
 * is parsed, and joinChain checks the attribution reasons of what passes.
 */
const isWitness = (e: StoredEntry, actor: string) => e.level === 'verified' && e.actor === actor;

/**
 * The witness records an action's chain may draw on. Grants and the decision are looked up by
 * the time in their UUIDv7 ids (the leaf grant's `ancestors` name every parent), so a chain costs
 * a few one-second reads whatever the initiator's activity; only when that misses does it fall
 * back to reading every grant or decision of the initiator in the two hours around the action.
 * Revocations and alerts (rare types) are read by type, initiator and time.
 */
async function candidates(
  scan: BoundedScan,
  action: EventRecord,
  options: ChainOptions,
): Promise<StoredEntry[]> {
  const initiator = action.initiator?.id;
  if (initiator === undefined) return [];
  const at = Date.parse(action.time) * 1000;
  const window = { initiator, fromUs: at - WINDOW_US, toUs: at + WINDOW_US };
  const byIssuer = (e: StoredEntry) => isWitness(e, options.issuer);
  const broad = (type: string, witness: string) =>
    scan.all(
      `${type} of ${initiator} around the action`,
      { ...window, type, level: 'verified' },
      (e) => isWitness(e, witness),
    );
  const hasJti = (entries: readonly StoredEntry[], jti: string) =>
    entries.find((e) => e.type !== 'policy.decision' && parse(e).credential?.jti === jti);
  const grantNear = async (jti: string) =>
    hasJti((await near(scan, jti, GRANT_TYPES, initiator, options.issuer)) ?? [], jti);

  const grants: StoredEntry[] = [];
  const leafJti = action.credential?.jti;
  if (leafJti !== undefined) {
    let complete = false;
    const leaf = await grantNear(leafJti);
    if (leaf) {
      grants.push(leaf);
      const ancestors = (parse(leaf).credential?.ancestors ?? []).slice(0, MAX_ANCESTORS);
      const found = await Promise.all(ancestors.map(grantNear));
      complete = found.every((f) => f !== undefined);
      for (const f of found) if (f) grants.push(f);
    }
    if (!complete) {
      grants.push(
        ...(await broad('credential.issued', options.issuer)),
        ...(await broad('delegation.granted', options.issuer)),
      );
    }
  }
  const decisionId = action.policy?.decision_id;
  let decisions: StoredEntry[] = [];
  if (decisionId !== undefined) {
    decisions =
      (await near(scan, decisionId, DECISION_TYPES, initiator, options.decisionPoint)) ?? [];
    if (!decisions.some((e) => parse(e).policy?.decision_id === decisionId)) {
      decisions = await broad('policy.decision', options.decisionPoint);
    }
  }
  // Remediations (AIMS) name no initiator of the action: read by type, from the window's start.
  const remediationReads = REMEDIATION_TYPES.map(([type, writer]) =>
    scan.all(
      `${type} since the chain began`,
      { fromUs: at - WINDOW_US, type, level: 'verified' },
      (e) => isWitness(e, writer(options)),
    ),
  );
  const [revocations, alerts, ...remediations] = await Promise.all([
    // Written whenever they happen; a later one still matters to the investigator.
    scan.all(
      `credential.revoked of ${initiator}`,
      { initiator, fromUs: at - WINDOW_US, type: 'credential.revoked', level: 'verified' },
      byIssuer,
    ),
    // Alerts are written by the collector as verified; who signs them is checked by joinChain.
    scan.all(
      `security.alert of ${initiator}`,
      { initiator, fromUs: at - WINDOW_US, type: 'security.alert', level: 'verified' },
      () => true,
    ),
    ...remediationReads,
  ]);
  const unique = new Map<string, StoredEntry>();
  for (const e of [...grants, ...decisions, ...revocations, ...alerts, ...remediations.flat()]) {
    unique.set(e.id, e);
  }
  return [...unique.values()];
}

/** How much one provenance request may read: rows in all, rows per search. */
export interface ProvenanceBounds {
  readonly budget: number;
  readonly lookup: number;
}

export interface ProvenanceDeps {
  readonly storage: LogStorage;
  readonly log: Log;
  readonly chainOptions: ChainOptions;
  /** Default SCAN_BUDGET and MAX_LOOKUP; smaller in tests. */
  readonly bounds?: ProvenanceBounds;
}

/** The chain of responsibility of one stored action, with its checks and evidence bundle. */
export async function provenanceOf(
  deps: ProvenanceDeps,
  entry: StoredEntry,
): Promise<ProvenanceAnswer> {
  const action = parse(entry);
  const scan = new BoundedScan(
    deps.storage,
    deps.bounds ?? { budget: SCAN_BUDGET, lookup: MAX_LOOKUP },
  );
  const found = await candidates(scan, action, deps.chainOptions);
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
  const truncated = scan.cuts.length > 0;
  return {
    subject: entry.id,
    ok: checks.every((c) => c.ok) && !truncated,
    truncated,
    truncated_reason: truncated
      ? `read more than the bound allows for: ${scan.cuts.join('; ')}`
      : null,
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
