/**
 * Testing a known value against what a record keeps of it: its argument and result digests
 * (keyed or not) and its redacted arguments. What an investigator holding the deployment key
 * does instead of reading the value, which the log never stored (`provenant digest-check`).
 */
import { digestKeyId, digestOf, hmacValue, keyedDigest } from './digest.js';

export interface KnownValueCheck {
  /** Where in the record: `action.args_digest`, `outcome.result_digest`, `action.args.<path>`. */
  readonly field: string;
  /** `keyed` (hmac-sha256 under the key), `unkeyed` (sha256), `redacted` (an argument's HMAC). */
  readonly form: 'keyed' | 'unkeyed' | 'redacted';
  readonly matches: boolean;
  /** Set when the stored digest was keyed under another key than the one given. */
  readonly otherKeyId?: string;
}

interface DigestedRecord {
  readonly action?: { readonly args_digest?: string; readonly args?: unknown };
  readonly outcome?: { readonly result_digest?: string };
}

/** Every place of `record` that keeps a digest or HMAC of some value, tested against `value`. */
export function checkKnownValue(
  record: DigestedRecord,
  key: Uint8Array,
  value: unknown,
): KnownValueCheck[] {
  const out: KnownValueCheck[] = [];
  const keyId = digestKeyId(key);
  const digest = (field: string, stored: string | undefined) => {
    if (stored === undefined) return;
    if (stored.startsWith('sha256:')) {
      out.push({ field, form: 'unkeyed', matches: stored === digestOf(value) });
      return;
    }
    const storedKeyId = stored.split(':')[1];
    if (storedKeyId !== keyId) {
      out.push({ field, form: 'keyed', matches: false, otherKeyId: storedKeyId ?? '' });
      return;
    }
    out.push({ field, form: 'keyed', matches: stored === keyedDigest(key, value) });
  };
  digest('action.args_digest', record.action?.args_digest);
  digest('outcome.result_digest', record.outcome?.result_digest);
  const redacted = hmacValue(key, value);
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'string') {
      // A redacted value's form: the HMAC in unpadded base64url, no key id.
      if (/^hmac-sha256:[A-Za-z0-9_-]{43}$/.test(v))
        out.push({ field: path, form: 'redacted', matches: v === redacted });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) walk(item, `${path}.${k}`);
    }
  };
  walk(record.action?.args, 'action.args');
  return out;
}
