import { describe, expect, it } from 'vitest';
import {
  Log,
  MemoryStorage,
  MemoryWitnessStore,
  Witness,
  WitnessError,
  formatAddCheckpoint,
  generateCosignerKey,
  generateSignerKey,
  hashLeaf,
  openNote,
  parseCosignerKey,
  parseCosignerVerifierKey,
  parseSignerKey,
  parseVerifierKey,
  verifyCosignatureLine,
  verifyCosignedCheckpoint,
} from '../src/index.js';
import { noteKeyId } from '../src/note/index.js';
import {
  ALG_COSIGNATURE_V1,
  cosignCheckpoint,
  cosignatureMessage,
  cosignerKeyId,
  parseAddCheckpoint,
} from '../src/witness/index.js';
import type { AddCheckpointResult, PreparedEntry } from '../src/index.js';

const encoder = new TextEncoder();
const seed = (b: number) => new Uint8Array(32).fill(b);

function entry(i: number, body = `{"n":${i}}`): PreparedEntry {
  return {
    id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    canonical: body,
    leafHash: hashLeaf(encoder.encode(body)),
    type: 'tool.called',
    timeUs: i,
    initiator: null,
    actor: null,
    taskId: null,
    traceId: null,
    level: 'unattributed',
  };
}

const logKeys = generateSignerKey('witness.test/log', seed(1));
const logSigner = parseSignerKey(logKeys.signerKey);
const logVerifier = parseVerifierKey(logKeys.verifierKey);

async function newLog(n: number, body = (i: number) => `{"n":${i}}`) {
  const log = await Log.open({ storage: new MemoryStorage(), signer: logSigner });
  if (n > 0) await log.append(Array.from({ length: n }, (_, i) => entry(i, body(i))));
  return log;
}

function newWitness(name = 'witness.test/w1', s = 7, now = () => 1_700_000_000) {
  const keys = generateCosignerKey(name, seed(s));
  const key = parseCosignerKey(keys.signerKey);
  const witness = new Witness({
    key,
    logs: new Map([[logSigner.name, [logVerifier]]]),
    store: new MemoryWitnessStore(),
    now,
  });
  return { witness, key, verifier: parseCosignerVerifierKey(keys.verifierKey), keys };
}

async function add(w: Witness, log: Log, oldSize: number): Promise<AddCheckpointResult> {
  const proof =
    oldSize > 0 && oldSize < log.size ? await log.consistencyProof(oldSize, log.size) : [];
  return w.addCheckpoint(
    formatAddCheckpoint({ oldSize, proof, checkpoint: log.latestCheckpoint().note }),
  );
}

describe('cosignature/v1 keys and signatures', () => {
  it('uses type byte 0x04 for the key and key ID (not 0x01)', () => {
    const { keys, key } = newWitness();
    expect(ALG_COSIGNATURE_V1).toBe(4);
    const b64 = keys.verifierKey.split('+')[2]!;
    expect(Buffer.from(b64, 'base64')[0]).toBe(4);
    expect(key.keyId).toBe(cosignerKeyId(key.name, key.publicKey));
    expect(key.keyId).not.toBe(noteKeyId(key.name, key.publicKey));
    expect(parseCosignerVerifierKey(keys.verifierKey).keyId).toBe(key.keyId);
    // A plain Ed25519 note key is not a cosigner key, and the reverse.
    expect(() => parseCosignerVerifierKey(logKeys.verifierKey)).toThrow(WitnessError);
    expect(() => parseVerifierKey(keys.verifierKey)).toThrow();
    expect(() => parseCosignerKey(keys.verifierKey)).toThrow(/PRIVATE/);
  });

  it('signs "cosignature/v1\\ntime T\\n" + body, with keyID || timestamp || sig', () => {
    const { key, verifier } = newWitness();
    const body = 'example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
    expect(Buffer.from(cosignatureMessage(body, 42)).toString()).toBe(
      `cosignature/v1\ntime 42\n${body}`,
    );
    const line = cosignCheckpoint(body, key, 1_700_000_123);
    expect(line).toMatch(/^\u2014 witness\.test\/w1 [A-Za-z0-9+/]+=*\n$/);
    const raw = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    expect(raw.length).toBe(4 + 8 + 64);
    expect(raw.readUInt32BE(0)).toBe(key.keyId);
    expect(Number(raw.readBigUInt64BE(4))).toBe(1_700_000_123);
    expect(verifyCosignatureLine(body, line, verifier).timestamp).toBe(1_700_000_123);
    expect(() => verifyCosignatureLine(body.replace('3', '4'), line, verifier)).toThrow(
      /does not verify/,
    );
    const other = newWitness('witness.test/w2', 8).verifier;
    expect(() => verifyCosignatureLine(body, line, other)).toThrow(/Not a cosignature/);
  });
});

describe('add-checkpoint request', () => {
  it('round-trips old, proof and note', async () => {
    const log = await newLog(5);
    const proof = await log.consistencyProof(3, 5);
    const text = formatAddCheckpoint({
      oldSize: 3,
      proof,
      checkpoint: log.latestCheckpoint().note,
    });
    expect(text.startsWith('old 3\n')).toBe(true);
    const parsed = parseAddCheckpoint(encoder.encode(text));
    expect(parsed.oldSize).toBe(3);
    expect(parsed.proof.map((p) => Buffer.from(p).toString('hex'))).toEqual(
      proof.map((p) => Buffer.from(p).toString('hex')),
    );
    expect(parsed.checkpoint).toBe(log.latestCheckpoint().note);
    expect(parseAddCheckpoint(`old 0\n\n${log.latestCheckpoint().note}`).proof).toEqual([]);
  });

  it.each([
    ['no blank line', 'old 0\nfoo'],
    ['no old line', 'new 0\n\nx\n'],
    ['leading zero', 'old 01\n\nx\n'],
    ['bad proof line', 'old 1\nnot-base64!\n\nx\n'],
    ['short hash', 'old 1\nAAAA\n\nx\n'],
    ['no checkpoint', 'old 0\n\n'],
  ])('refuses %s', (_name, body) => {
    expect(() => parseAddCheckpoint(body)).toThrow(/Malformed add-checkpoint/);
  });
});

describe('Witness', () => {
  it('cosigns a first checkpoint (old 0), then extensions with a consistency proof', async () => {
    const { witness, verifier } = newWitness();
    const log = await newLog(3);
    const first = await add(witness, log, 0);
    expect(first.status).toBe(200);
    if (first.status !== 200) return;
    const cosigned = log.latestCheckpoint().note + first.cosignatures;
    const v = verifyCosignedCheckpoint(cosigned, logVerifier, [verifier], 1);
    expect(v.checkpoint.size).toBe(3);
    expect(v.cosignatures[0]!.timestamp).toBe(1_700_000_000);
    // The cosigned note still opens for a client that knows only the log key.
    expect(openNote(cosigned, [logVerifier]).signatures).toHaveLength(2);

    await log.append([entry(3), entry(4), entry(5), entry(6)]);
    expect((await add(witness, log, 3)).status).toBe(200);
    // The same checkpoint again (old = size, same root): cosigned again.
    expect((await add(witness, log, 7)).status).toBe(200);
  });

  it('answers 409 with its size when old does not match, so the client can retry', async () => {
    const { witness } = newWitness();
    const log = await newLog(4);
    expect((await add(witness, log, 0)).status).toBe(200);
    await log.append([entry(4)]);
    const wrong = await add(witness, log, 0);
    expect(wrong).toMatchObject({ status: 409, size: 4 });
    expect((await add(witness, log, 2)).status).toBe(409);
    expect((await add(witness, log, 4)).status).toBe(200);
  });

  it('answers 422 when the consistency proof does not verify', async () => {
    const { witness } = newWitness();
    const log = await newLog(4);
    expect((await add(witness, log, 0)).status).toBe(200);
    await log.append([entry(4), entry(5)]);
    const proof = await log.consistencyProof(4, 6);
    proof[0] = new Uint8Array(32).fill(9);
    const r = await witness.addCheckpoint(
      formatAddCheckpoint({ oldSize: 4, proof, checkpoint: log.latestCheckpoint().note }),
    );
    expect(r).toMatchObject({ status: 422, code: 'consistency_proof_failed' });
  });

  it('answers 403 for a checkpoint not signed by the known log key', async () => {
    const { witness } = newWitness();
    const impostor = parseSignerKey(generateSignerKey(logSigner.name, seed(66)).signerKey);
    const log = await Log.open({ storage: new MemoryStorage(), signer: impostor });
    await log.append([entry(0)]);
    expect(await add(witness, log, 0)).toMatchObject({
      status: 403,
      code: 'log_signature_invalid',
    });
  });

  it('answers 404 for an unknown log', async () => {
    const { witness } = newWitness();
    const other = parseSignerKey(generateSignerKey('other.test/log', seed(3)).signerKey);
    const log = await Log.open({ storage: new MemoryStorage(), signer: other });
    await log.append([entry(0)]);
    expect(await add(witness, log, 0)).toMatchObject({ status: 404, code: 'unknown_log' });
  });

  it('answers 400 for malformed bodies, old > size, or a proof where none is possible', async () => {
    const { witness } = newWitness();
    const log = await newLog(2);
    const note = log.latestCheckpoint().note;
    expect((await witness.addCheckpoint('garbage')).status).toBe(400);
    expect((await witness.addCheckpoint(`old 3\n\n${note}`)).status).toBe(400);
    const h = Buffer.alloc(32).toString('base64');
    expect((await witness.addCheckpoint(`old 0\n${h}\n\n${note}`)).status).toBe(400);
    expect(await witness.addCheckpoint(new Uint8Array([0xff, 0xfe]))).toMatchObject({
      status: 400,
      code: 'malformed_add_checkpoint',
    });
  });

  it('refuses a forked log: same key, other entries (422 or 409), rolled back (409)', async () => {
    const { witness } = newWitness();
    const log = await newLog(5);
    expect((await add(witness, log, 0)).status).toBe(200);

    // The database replaced by another history under the same key: a fork.
    const fork = await newLog(8, (i) => `{"forked":${i}}`);
    expect(await add(witness, fork, 0)).toMatchObject({ status: 409, size: 5 });
    expect(await add(witness, fork, 5)).toMatchObject({ status: 422 });

    // Same size, other root.
    const sameSize = await newLog(5, (i) => `{"other":${i}}`);
    expect(await add(witness, sameSize, 5)).toMatchObject({ status: 409, size: 5 });

    // Rolled back to an earlier state: smaller than what the witness cosigned.
    const rolledBack = await newLog(3);
    expect(await add(witness, rolledBack, 0)).toMatchObject({ status: 409, size: 5 });
    expect((await add(witness, rolledBack, 5)).status).toBe(400);

    // The honest log still moves on.
    await log.append([entry(5)]);
    expect((await add(witness, log, 5)).status).toBe(200);
  });

  it('never moves forward twice from the same state (concurrent requests)', async () => {
    const { witness } = newWitness();
    const a = await newLog(3);
    expect((await add(witness, a, 0)).status).toBe(200);
    await a.append([entry(3)]);
    const b = await newLog(3);
    await b.append([entry(3, '{"b":1}')]);
    const results = await Promise.all([add(witness, a, 3), add(witness, b, 3)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
  });
});

describe('verifyCosignedCheckpoint (k of n)', () => {
  it('accepts k valid cosignatures and refuses fewer', async () => {
    const ws = [newWitness('w.test/a', 11), newWitness('w.test/b', 12), newWitness('w.test/c', 13)];
    const log = await newLog(4);
    let note = log.latestCheckpoint().note;
    for (const w of ws.slice(0, 2)) {
      const r = await add(w.witness, log, 0);
      if (r.status !== 200) throw new Error('not cosigned');
      note += r.cosignatures;
    }
    const keys = ws.map((w) => w.verifier);
    expect(
      verifyCosignedCheckpoint(note, logVerifier, keys, 2).cosignatures.map((c) => c.name),
    ).toEqual(['w.test/a', 'w.test/b']);
    expect(() => verifyCosignedCheckpoint(note, logVerifier, keys, 3)).toThrow(
      expect.objectContaining({ code: 'witness_policy_unmet' }) as Error,
    );
    expect(() =>
      verifyCosignedCheckpoint(log.latestCheckpoint().note, logVerifier, keys, 1),
    ).toThrow(/0 valid cosignature/);
    // A cosignature over another checkpoint does not count.
    const sig = note.split('\n').filter((l) => l.startsWith('\u2014 w.test/a'))[0]!;
    await log.append([entry(4)]);
    expect(() =>
      verifyCosignedCheckpoint(`${log.latestCheckpoint().note}${sig}\n`, logVerifier, keys, 1),
    ).toThrow(expect.objectContaining({ code: 'witness_policy_unmet' }) as Error);
  });
});
