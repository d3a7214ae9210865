/**
 * Witness verifier keys pinned in this browser, and each one's cosignature (C2SP
 * tlog-cosignature/v1) on the checkpoint, checked with the one verifier
 * (`@provenant/core/verify`, WebCrypto). Only the pinning and the wording are the console's.
 */
import {
  noteSignatureLines,
  parseCosignerVerifierKey,
  witnessCosignature,
} from '@provenant/core/verify';
import type { CosignerVerifierKey } from '@provenant/core/verify';

export const WITNESS_PIN_KEY = 'provenant.console.witnessKeys';

export interface WitnessKey extends CosignerVerifierKey {
  /** The verifier key string as pinned. */
  text: string;
}

export interface WitnessResult {
  name: string;
  key: string;
  ok: boolean;
  detail: string;
  /** Unix seconds of the cosignature, when a valid one by this key was found. */
  time: number | null;
}

/** Parses and checks a witness verifier key (its key id recomputed). */
export async function parseWitnessKey(s: string): Promise<WitnessKey> {
  const text = s.trim();
  return { ...(await parseCosignerVerifierKey(text)), text };
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
  let lines;
  try {
    lines = noteSignatureLines(note);
  } catch (e) {
    return result(false, (e as Error).message);
  }
  const found = await witnessCosignature(lines.text, lines.signatures, w);
  if (found.cosignature) return result(true, 'cosignature verified', found.cosignature.timestamp);
  return result(false, found.lines === 0 ? 'no cosignature' : 'the cosignature does not verify');
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
