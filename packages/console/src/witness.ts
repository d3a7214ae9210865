/**
 * In-browser checks of witness cosignatures (C2SP tlog-cosignature/v1) on a checkpoint note, with
 * WebCrypto, against witness verifier keys pinned in this browser. A witness key is
 * `<name>+<hex8 key id>+base64(0x04 || Ed25519 public key)`, its key id
 * SHA-256(name || 0x0A || 0x04 || public key)[:4]; a cosignature line is
 * `— <name> base64(key id (4) || timestamp (8, big-endian) || Ed25519 signature (64))` over
 * `cosignature/v1\ntime <unix seconds>\n` followed by the checkpoint text.
 */
import { fromBase64 } from './verify.ts';

export const WITNESS_PIN_KEY = 'provenant.console.witnessKeys';

const ALG_COSIGNATURE_V1 = 0x04;
const enc = new TextEncoder();

export interface WitnessKey {
  /** The verifier key string as pinned. */
  text: string;
  name: string;
  keyId: number;
  key: CryptoKey;
}

export interface WitnessResult {
  name: string;
  key: string;
  ok: boolean;
  detail: string;
  /** Unix seconds of the cosignature, when one by this key was found. */
  time: number | null;
}

/** Parses and checks a witness verifier key; the key id is recomputed with SHA-256. */
export async function parseWitnessKey(s: string): Promise<WitnessKey> {
  const text = s.trim();
  const m = /^([^+\s]+)\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text);
  if (!m) throw new Error('expected <name>+<hex8 key id>+<base64 key>');
  const [, name, idHex, b64] = m as unknown as [string, string, string, string];
  let raw: Uint8Array<ArrayBuffer>;
  try {
    raw = fromBase64(b64);
  } catch {
    throw new Error('the key is not valid base64');
  }
  if (raw.length === 0) throw new Error('the key is empty');
  if (raw[0] !== ALG_COSIGNATURE_V1) {
    const t = raw[0]!.toString(16).padStart(2, '0');
    throw new Error(`the key type is 0x${t}, not 0x04 (cosignature/v1)`);
  }
  if (raw.length !== 33) throw new Error('an Ed25519 key must be 32 bytes');
  const pub = raw.slice(1);
  const buf = new Uint8Array([...enc.encode(name), 0x0a, ALG_COSIGNATURE_V1, ...pub]);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  const keyId = new DataView(digest.buffer).getUint32(0);
  if (keyId !== parseInt(idHex, 16)) throw new Error('the key id does not match the name and key');
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
  } catch {
    throw new Error('not an Ed25519 public key');
  }
  return { text, name, keyId, key };
}

/** The message a cosignature/v1 signs. */
export function cosignatureMessage(checkpointText: string, time: number): Uint8Array<ArrayBuffer> {
  return enc.encode(`cosignature/v1\ntime ${time}\n${checkpointText}`);
}

/** Splits a note into its text (ending in a newline) and its signature lines. */
export function splitNote(note: string): { text: string; lines: { name: string; b64: string }[] } {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('no signature block');
  const lines: { name: string; b64: string }[] = [];
  for (const line of note.slice(split + 2).split('\n')) {
    if (line.length === 0) continue;
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new Error('malformed signature line');
    lines.push({ name: m[1]!, b64: m[2]! });
  }
  return { text: note.slice(0, split + 1), lines };
}

/** Checks the cosignature of one pinned witness on a checkpoint note. */
export async function checkCosignature(note: string, w: WitnessKey): Promise<WitnessResult> {
  const result = (ok: boolean, detail: string, time: number | null = null): WitnessResult => ({
    name: w.name,
    key: w.text,
    ok,
    detail,
    time,
  });
  let parsed;
  try {
    parsed = splitNote(note);
  } catch (e) {
    return result(false, (e as Error).message);
  }
  const mine = parsed.lines.filter((l) => l.name === w.name);
  if (mine.length === 0) return result(false, 'no cosignature');
  let failure = 'the key id does not match';
  for (const line of mine) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = fromBase64(line.b64);
    } catch {
      failure = 'malformed cosignature';
      continue;
    }
    if (bytes.length < 4) {
      failure = 'malformed cosignature';
      continue;
    }
    const view = new DataView(bytes.buffer);
    if (view.getUint32(0) !== w.keyId) continue;
    if (bytes.length !== 4 + 8 + 64) return result(false, 'malformed cosignature');
    const time = view.getBigUint64(4);
    if (time > BigInt(Number.MAX_SAFE_INTEGER)) return result(false, 'bad cosignature time');
    const t = Number(time);
    const ok = await crypto.subtle.verify(
      'Ed25519',
      w.key,
      bytes.subarray(12),
      cosignatureMessage(parsed.text, t),
    );
    return ok
      ? result(true, 'cosignature verified', t)
      : result(false, 'the cosignature does not verify', t);
  }
  return result(false, failure);
}

/** The witness keys pinned in this browser (strings, as typed). */
export function pinnedWitnessKeys(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(WITNESS_PIN_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function savePinnedWitnessKeys(keys: readonly string[]): void {
  localStorage.setItem(WITNESS_PIN_KEY, JSON.stringify(keys));
}
