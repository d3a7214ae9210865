import { canonicalize } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import { describe, expect, it } from 'vitest';
import {
  Log,
  MemoryStorage,
  buildEvidenceBundle,
  chainRecords,
  checkChain,
  formatEvidenceBundle,
  formatTlogProof,
  generateSignerKey,
  hashLeaf,
  includedCheck,
  joinChain,
  narrate,
  parseSignerKey,
  parseTlogProof,
  parseVerifierKey,
  verifyEvidenceBundle,
} from '../src/index.js';
import type { ChainCheck, EvidenceBundle } from '../src/index.js';

const ISSUER = 'service:provenant-issuer';
const PDP = 'service:provenant-pdp';
const ALICE = 'user:alice';
const PLANNER = 'spiffe://acme.test/agent/planner/instance/19c2';
const RESEARCHER = 'spiffe://acme.test/agent/researcher/instance/7f3a';
const T0 = Date.parse('2026-11-27T13:00:00Z') / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString();
let n = 0;
const id = () => `0192f3c4-5b6a-7c00-8d3e-${String(++n).padStart(12, '0')}`;

function grant(
  type: 'credential.issued' | 'delegation.granted',
  jti: string,
  scope: string[],
  opts: { parent?: string; from?: string; to?: string; at?: number; exp?: number } = {},
): EventRecord {
  const at = opts.at ?? T0;
  return {
    schema: 'provenant.event/v1',
    id: id(),
    time: iso(at),
    type,
    initiator: { id: ALICE, kind: 'human' },
    actor: { id: ISSUER, kind: 'service' },
    attribution: { level: 'verified', reasons: ['issuer_witness'] },
    credential: {
      jti,
      iss: 'http://issuer.test',
      iat: at,
      exp: opts.exp ?? T0 + 300,
      sub: ALICE,
      scope,
      ancestors: [],
      grant: type === 'credential.issued' ? 'dev_login' : 'token_exchange',
      ...(opts.parent ? { parent_jti: opts.parent } : {}),
    },
    ...(opts.from && opts.to ? { delegation: [{ from: opts.from, to: opts.to, jti, scope }] } : {}),
  };
}

function scenario() {
  const root = grant('credential.issued', 'j1', ['repo:read', 'repo:write']);
  const hop1 = grant('delegation.granted', 'j2', ['repo:read', 'repo:write'], {
    parent: 'j1',
    from: ALICE,
    to: PLANNER,
    at: T0 + 1,
  });
  const hop2 = grant('delegation.granted', 'j3', ['repo:read'], {
    parent: 'j2',
    from: PLANNER,
    to: RESEARCHER,
    at: T0 + 2,
  });
  const decision: EventRecord = {
    schema: 'provenant.event/v1',
    id: id(),
    time: iso(T0 + 3),
    type: 'policy.decision',
    initiator: { id: ALICE, kind: 'human' },
    actor: { id: PDP, kind: 'service' },
    attribution: { level: 'verified', reasons: ['decision_point_witness'] },
    action: { name: 'github.get_file', resource: 'repo:acme/payments' },
    delegation: [
      { from: ALICE, to: PLANNER },
      { from: PLANNER, to: RESEARCHER },
    ],
    policy: {
      decision_id: 'd1',
      engine: 'cedar',
      policy_set: `sha256:${'a'.repeat(64)}`,
      decision: 'allow',
      determining: ['permit-reads'],
    },
  };
  const action: EventRecord = {
    schema: 'provenant.event/v1',
    id: id(),
    time: iso(T0 + 4),
    type: 'tool.called',
    initiator: { id: ALICE, kind: 'human' },
    actor: { id: RESEARCHER, kind: 'agent_instance' },
    delegation: [
      { from: ALICE, to: PLANNER, jti: 'j2' },
      { from: PLANNER, to: RESEARCHER, jti: 'j3', scope: ['repo:read'] },
    ],
    credential: { jti: 'j3', iss: 'http://issuer.test', iat: T0 + 2, exp: T0 + 300 },
    attribution: { level: 'verified', reasons: [] },
    action: { name: 'github.get_file', resource: 'repo:acme/payments' },
    policy: { ...decision.policy! },
    outcome: { status: 'success' },
  };
  return { root, hop1, hop2, decision, action };
}

const failing = (checks: ChainCheck[]) => checks.filter((c) => !c.ok).map((c) => c.id);

describe('joinChain and checkChain', () => {
  it('joins grants by jti up to the first credential and passes every check', () => {
    const s = scenario();
    const chain = joinChain(s.action, [s.decision, s.hop2, s.root, s.hop1]);
    expect(chainRecords(chain).map((r) => r.role)).toEqual([
      'credential',
      'delegation',
      'delegation',
      'decision',
      'action',
    ]);
    expect(failing(checkChain(chain))).toEqual([]);
    expect(narrate(chain)).toEqual([
      expect.stringMatching(/^alice got credential j1 \(dev_login; repo:read repo:write/),
      'alice asked planner/19c2 with repo:read repo:write (j2)',
      'planner/19c2 delegated repo:read to researcher/7f3a (j3)',
      `cedar policy-set sha256:${'a'.repeat(64)} allowed it by permit-reads (decision d1)`,
      `researcher/7f3a called github.get_file on repo:acme/payments at ${iso(T0 + 4)} → success`,
    ]);
  });

  it("names another domain's grant the first credential was issued on, both hops", () => {
    const s = scenario();
    const A = 'https://a.example';
    const root = grant('delegation.granted', 'j2', ['repo:read'], { from: ALICE, to: PLANNER });
    root.credential = {
      ...root.credential!,
      grant: 'jwt_bearer',
      jwt_grant: {
        profile: 'identity_chaining',
        iss: A,
        jti: 'grant-1',
        aud: 'http://issuer.test',
        sub: 'user:alice',
        act: [PLANNER],
      },
    };
    const action: EventRecord = {
      ...s.action,
      actor: { id: PLANNER, kind: 'agent_instance' },
      delegation: [{ from: ALICE, to: PLANNER, jti: 'j2' }],
      credential: { jti: 'j2', iss: 'http://issuer.test', iat: T0, exp: T0 + 300 },
      policy: undefined!,
    };
    delete action.policy;
    const chain = joinChain(action, [root]);
    const checks = checkChain(chain);
    expect(failing(checks).filter((c) => !c.startsWith('decision'))).toEqual([]);
    expect(checks.find((c) => c.id === 'initiator_credential')?.detail).toContain(
      `on ${A}'s grant grant-1`,
    );
    expect(narrate(chain).slice(0, 2)).toEqual([
      expect.stringMatching(/^alice got credential j2 \(jwt_bearer; repo:read/),
      `on the grant grant-1 of ${A} for http://issuer.test, whose subject there is user:alice (acting: planner/19c2)`,
    ]);
  });

  it('fails a hop that widens scope or outlives its parent', () => {
    const s = scenario();
    const wide = grant('delegation.granted', 'j3', ['repo:read', 'repo:admin'], {
      parent: 'j2',
      from: PLANNER,
      to: RESEARCHER,
      at: T0 + 2,
      exp: T0 + 9999,
    });
    const chain = joinChain(s.action, [s.root, s.hop1, wide, s.decision]);
    expect(failing(checkChain(chain))).toContain('scopes_narrow:2');
  });

  it('fails a chain with a grant no issuer witnessed, ignoring records forged by others', () => {
    const s = scenario();
    const forged = { ...s.hop1, actor: { id: RESEARCHER, kind: 'agent_instance' as const } };
    const chain = joinChain(s.action, [s.root, forged, s.hop2, s.decision]);
    expect(chain.missingJti).toBe('j2');
    expect(failing(checkChain(chain))).toEqual(
      expect.arrayContaining(['credential', 'initiator_credential']),
    );
    // Claiming to be the issuer is not enough: only the collector sets witness attribution.
    const asserted = { ...s.hop1, attribution: { level: 'asserted' as const, reasons: [] } };
    expect(joinChain(s.action, [s.root, asserted, s.hop2, s.decision]).missingJti).toBe('j2');
    const fakeDecision = {
      ...s.decision,
      attribution: { level: 'asserted' as const, reasons: [] },
    };
    expect(joinChain(s.action, [s.root, s.hop1, s.hop2, fakeDecision]).decision).toBeNull();
  });

  it('fails a credential revoked before the action, not one revoked after', () => {
    const s = scenario();
    const revoked = (at: number): EventRecord => ({
      ...grant('credential.issued', 'j2', [], { at }),
      type: 'credential.revoked',
    });
    const before = joinChain(s.action, [s.root, s.hop1, s.hop2, s.decision, revoked(T0 + 3)]);
    expect(failing(checkChain(before))).toEqual(['not_revoked']);
    const after = joinChain(s.action, [s.root, s.hop1, s.hop2, s.decision, revoked(T0 + 60)]);
    expect(failing(checkChain(after))).toEqual([]);
    expect(chainRecords(after).at(-1)!.role).toBe('revocation');
  });

  it('fails an action outside its window, a missing decision and a mismatched one', () => {
    const s = scenario();
    const late = { ...s.action, time: iso(T0 + 3600) };
    expect(failing(checkChain(joinChain(late, [s.root, s.hop1, s.hop2, s.decision])))).toEqual([
      'window',
    ]);
    expect(failing(checkChain(joinChain(s.action, [s.root, s.hop1, s.hop2])))).toEqual([
      'decision',
    ]);
    const other = { ...s.decision, action: { name: 'github.get_file', resource: 'repo:acme/x' } };
    expect(failing(checkChain(joinChain(s.action, [s.root, s.hop1, s.hop2, other])))).toEqual([
      'decision_matches',
    ]);
  });
});

describe('c2sp.org/tlog-proof@v1', () => {
  it('formats and parses the header, index, hashes and checkpoint', () => {
    const hashes = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    const text = formatTlogProof({ index: 7, hashes, checkpoint: 'o\n8\nAAAA\n\n— o sig\n' });
    expect(text).toBe(
      `c2sp.org/tlog-proof@v1\nindex 7\n${Buffer.from(hashes[0]!).toString('base64')}\n${Buffer.from(hashes[1]!).toString('base64')}\n\no\n8\nAAAA\n\n— o sig\n`,
    );
    const p = parseTlogProof(text);
    expect([p.index, p.hashes.length, p.checkpoint]).toEqual([7, 2, 'o\n8\nAAAA\n\n— o sig\n']);
    const extra = parseTlogProof(`c2sp.org/tlog-proof@v1\nextra AQI=\nindex 0\n\ncp\n`);
    expect([...extra.extra!]).toEqual([1, 2]);
    for (const bad of [
      'tlog-proof\nindex 1\n\ncp\n',
      'c2sp.org/tlog-proof@v1\nindex 01\n\nc\n',
      'c2sp.org/tlog-proof@v1\nindex 1\nnot-base64\n\nc\n',
    ]) {
      expect(() => parseTlogProof(bad)).toThrow(/tlog-proof/);
    }
  });
});

describe('evidence bundles', () => {
  async function bundle(mutate?: (records: EventRecord[]) => void) {
    const keys = generateSignerKey('evidence.test/log');
    const storage = new MemoryStorage();
    const log = await Log.open({ storage, signer: parseSignerKey(keys.signerKey) });
    const s = scenario();
    const records = [s.root, s.hop1, s.hop2, s.decision, s.action];
    await log.append(
      records.map((r) => {
        const canonical = canonicalize(r);
        return {
          id: r.id,
          type: r.type,
          timeUs: Date.parse(r.time) * 1000,
          initiator: ALICE,
          actor: r.actor!.id,
          taskId: null,
          traceId: null,
          level: 'verified',
          canonical,
          leafHash: hashLeaf(new TextEncoder().encode(canonical)),
        };
      }),
    );
    const checkpoint = log.latestCheckpoint();
    const chain = joinChain(s.action, records);
    const members = chainRecords(chain);
    mutate?.(records);
    const proved = await Promise.all(
      members.map(async (m) => {
        const leafIndex = records.findIndex((r) => r.id === m.record.id);
        const stored = (await storage.getEntries(leafIndex, 1))[0]!;
        return {
          role: m.role,
          record: {
            ...(JSON.parse(stored.canonical) as object),
            integrity: {
              leaf_index: leafIndex,
              leaf_hash: Buffer.from(stored.leafHash).toString('base64'),
            },
          },
          leafIndex,
          hashes: await log.inclusionProof(leafIndex, checkpoint.size),
        };
      }),
    );
    const checks = [
      ...checkChain(chain),
      ...proved.map((p) =>
        includedCheck(
          p.record['id' as never],
          true,
          `leaf ${p.leafIndex} of the signed tree of ${checkpoint.size}`,
        ),
      ),
    ];
    const b = buildEvidenceBundle({
      subject: s.action.id,
      verifierKey: keys.verifierKey,
      checkpoint: checkpoint.note,
      treeSize: checkpoint.size,
      records: proved,
      narrative: narrate(chain),
      checks,
    });
    return { b, key: keys.verifierKey };
  }
  const verify = (b: EvidenceBundle | string, key: string) =>
    verifyEvidenceBundle(
      typeof b === 'string' ? b : formatEvidenceBundle(b),
      parseVerifierKey(key),
      key,
    );

  it('verifies a bundle built from a signed log', async () => {
    const { b, key } = await bundle();
    const v = verify(b, key);
    expect(v.failures).toEqual([]);
    expect(v.checks.every((c) => c.ok)).toBe(true);
  });

  it('names a dropped record, reordered entries and a swapped role', async () => {
    const { b, key } = await bundle();
    const dropped = { ...b, entries: b.entries.filter((e) => e.role !== 'decision') };
    expect(verify(dropped, key).failures.map((f) => f.code)).toEqual(
      expect.arrayContaining(['narrative_mismatch', 'checks_mismatch']),
    );
    const reordered = { ...b, entries: [...b.entries].reverse() };
    expect(verify(reordered, key).failures.map((f) => f.code)).toContain('join_mismatch');
    const swapped = {
      ...b,
      entries: b.entries.map((e) => (e.role === 'decision' ? { ...e, role: 'alert' as const } : e)),
    };
    expect(verify(swapped, key).failures.map((f) => f.code)).toContain('join_mismatch');
  });

  it('fails on a claimed check result the records do not give', async () => {
    const { b, key } = await bundle();
    const lie = { ...b, checks: b.checks.map((c) => ({ ...c, ok: true, detail: c.detail })) };
    expect(verify(lie, key).authentic).toBe(true); // nothing to lie about: all pass already
    const flipped = { ...b, checks: b.checks.map((c, i) => (i === 0 ? { ...c, ok: false } : c)) };
    expect(verify(flipped, key).failures.map((f) => f.code)).toEqual(['checks_mismatch']);
    expect(verify('not json', key).failures.map((f) => f.code)).toEqual(['malformed_bundle']);
  });
});
