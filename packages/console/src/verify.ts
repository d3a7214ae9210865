/**
 * In-browser verification of an evidence bundle with WebCrypto: the checkpoint's C2SP signed-note
 * signature (Ed25519) against the pinned verifier key, each record's leaf hash
 * (SHA-256(0x00 || JCS(record without integrity))) and its RFC 9162 inclusion proof against the
 * signed root. Nothing here trusts the server.
 */

export interface BundleEntry {
  role: string;
  record: Record<string, unknown>;
  proof: { leaf_index: number; tree_size: number; hashes: string[] };
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

const enc = new TextEncoder();

export function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toBase64(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}

const equal = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** RFC 8785 JSON canonicalisation: sorted keys (UTF-16 order), ECMAScript number form. */
export function canonicalize(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error('non-finite number');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalize).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(o[k])}`).join(',')}}`;
}

export interface VerifierKey {
  name: string;
  keyId: number;
  key: CryptoKey;
}

/** Parses `<name>+<hex8 key id>+<base64(0x01 || Ed25519 public key)>` and checks the key id. */
export async function parseVerifierKey(s: string): Promise<VerifierKey> {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(s.trim());
  if (!m) throw new Error('not a note verifier key');
  const [, name, idHex, b64] = m as unknown as [string, string, string, string];
  const raw = fromBase64(b64);
  if (raw.length !== 33 || raw[0] !== 0x01) throw new Error('not an Ed25519 verifier key');
  const pub = raw.subarray(1);
  const digest = await sha256(enc.encode(name), new Uint8Array([0x0a, 0x01]), pub);
  const keyId = new DataView(digest.buffer).getUint32(0);
  if (keyId !== parseInt(idHex, 16)) throw new Error('the key id does not match the key');
  const key = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
  return { name, keyId, key };
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
}

/** Opens a signed checkpoint note: a valid signature by `vk` is required. */
export async function openCheckpoint(note: string, vk: VerifierKey): Promise<Checkpoint> {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('no signature block');
  const text = note.slice(0, split + 1);
  const sigLines = note
    .slice(split + 2)
    .split('\n')
    .filter((l) => l.length > 0);
  let verified = false;
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new Error('malformed signature line');
    if (m[1] !== vk.name) continue;
    const bytes = fromBase64(m[2]!);
    if (bytes.length < 4 || new DataView(bytes.buffer).getUint32(0) !== vk.keyId) continue;
    const ok = await crypto.subtle.verify('Ed25519', vk.key, bytes.subarray(4), enc.encode(text));
    if (!ok) throw new Error('the signature does not verify');
    verified = true;
  }
  if (!verified) throw new Error(`no signature by ${vk.name}`);
  const [origin, sizeText, rootText] = text.split('\n') as [string, string, string];
  if (origin !== vk.name) throw new Error('the origin is not this log');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new Error('bad tree size');
  const root = fromBase64(rootText);
  if (root.length !== 32) throw new Error('bad root hash');
  return { origin, size: Number(sizeText), root };
}

export async function leafHash(record: Record<string, unknown>): Promise<Uint8Array> {
  const { integrity: _omit, ...body } = record;
  return sha256(new Uint8Array([0x00]), enc.encode(canonicalize(body)));
}

/** RFC 9162 §2.1.3.2: the root an inclusion proof gives, or null if it is malformed. */
export async function rootFromInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  path: Uint8Array[],
): Promise<Uint8Array | null> {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  const node = new Uint8Array([0x01]);
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(node, p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await sha256(node, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export async function verifyBundle(bundle: Bundle, vk: VerifierKey): Promise<BundleResult> {
  let cp: Checkpoint | null = null;
  let checkpointDetail: string;
  try {
    cp = await openCheckpoint(bundle.checkpoint, vk);
    checkpointDetail = `signed by ${vk.name}, tree size ${cp.size}`;
  } catch (e) {
    checkpointDetail = `checkpoint rejected: ${(e as Error).message}`;
  }
  const entries: EntryResult[] = [];
  for (const entry of bundle.entries) {
    const id = String(entry.record['id']);
    const fail = (detail: string) => entries.push({ id, role: entry.role, ok: false, detail });
    try {
      const leaf = await leafHash(entry.record);
      const integrity = entry.record['integrity'] as
        { leaf_hash?: unknown; leaf_index?: unknown } | undefined;
      if (integrity?.leaf_hash !== toBase64(leaf)) {
        fail('the record does not hash to its leaf');
        continue;
      }
      if (integrity.leaf_index !== entry.proof.leaf_index) {
        fail('the proof is for another leaf');
        continue;
      }
      if (!cp) {
        fail('no verified checkpoint');
        continue;
      }
      if (entry.proof.tree_size !== cp.size) {
        fail('the proof is for another tree size');
        continue;
      }
      const root = await rootFromInclusion(
        entry.proof.leaf_index,
        entry.proof.tree_size,
        leaf,
        entry.proof.hashes.map(fromBase64),
      );
      if (!root || !equal(root, cp.root)) {
        fail('the inclusion proof does not lead to the signed root');
        continue;
      }
      entries.push({
        id,
        role: entry.role,
        ok: true,
        detail: `leaf ${entry.proof.leaf_index} included in the signed tree of ${cp.size}`,
      });
    } catch (e) {
      fail((e as Error).message);
    }
  }
  return { checkpointOk: cp !== null, checkpointDetail, treeSize: cp?.size ?? null, entries };
}
