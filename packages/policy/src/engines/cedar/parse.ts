/**
 * Splits a policy folder's files into single policies and names each one: its `@id("…")`
 * annotation when it has one, else the id Cedar itself would give it (`policy0`, `policy1`, …
 * counted through the files in name order), so the ids in `determining` are the ones a reader
 * finds in the files.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicySetSource } from '../../engine.js';
import { byteLength, formatDiagnostic, locate } from '../../lib/source-location.js';

/** One policy of a set, and where it is written. */
export interface ParsedPolicy {
  id: string;
  /** The policy's own text, annotations included, exactly as in its file. */
  text: string;
  file: string;
  fileText: string;
  /** UTF-8 byte offset of `text` in its file. */
  offset: number;
}

export interface ParsedPolicies {
  policies: ParsedPolicy[];
  /** Every problem found, each with its `file:line:column`; empty when the set parsed. */
  messages: string[];
}

/** The longest policy id accepted: a record's `policy.determining` entries hold at most 256. */
export const MAX_POLICY_ID = 256;
// eslint-disable-next-line no-control-regex -- control characters are what this refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Parses every file of `source` (files already sorted by name) into named policies. */
export function parsePolicies(source: PolicySetSource): ParsedPolicies {
  const policies: ParsedPolicy[] = [];
  const messages: string[] = [];
  const byId = new Map<string, ParsedPolicy>();
  let cedarIndex = 0;

  for (const file of source.files) {
    const parts = cedar.policySetTextToParts(file.text);
    if (parts.type === 'failure') {
      for (const e of parts.errors) {
        messages.push(formatDiagnostic(e, { file: file.name, text: file.text, offset: 0 }));
      }
      continue;
    }
    if (parts.policy_templates.length > 0) {
      for (const t of parts.policy_templates) {
        const at = locate(
          file.name,
          file.text,
          byteLength(file.text.slice(0, indexOrZero(file.text, t, 0))),
        );
        messages.push(
          `${at}: templates (policies with ?principal or ?resource slots) are not supported; write a static policy.`,
        );
      }
      continue;
    }

    // Cedar numbers the policies of a text policy0, policy1, … in the order they are written,
    // and returns them sorted by that id as a string (policy0, policy1, policy10, policy2, …).
    const count = parts.policies.length;
    const sortedIds = Array.from({ length: count }, (_, i) => `policy${i}`).sort();
    const written: string[] = new Array<string>(count);
    sortedIds.forEach((id, j) => {
      written[Number(id.slice('policy'.length))] = parts.policies[j]!;
    });

    let cursor = 0;
    for (const text of written) {
      const index = indexOrZero(file.text, text, cursor);
      cursor = index + text.length;
      const policy: ParsedPolicy = {
        id: `policy${cedarIndex}`,
        text,
        file: file.name,
        fileText: file.text,
        offset: byteLength(file.text.slice(0, index)),
      };
      cedarIndex += 1;
      const at = locate(file.name, file.text, policy.offset);

      const annotated = idAnnotation(text);
      if (annotated !== undefined) {
        if (
          annotated === null ||
          annotated === '' ||
          annotated.length > MAX_POLICY_ID ||
          CONTROL.test(annotated)
        ) {
          messages.push(
            `${at}: an @id must be 1 to ${MAX_POLICY_ID} characters with no control characters.`,
          );
          continue;
        }
        policy.id = annotated;
      }

      const earlier = byId.get(policy.id);
      if (earlier !== undefined) {
        messages.push(
          `${at}: the policy id "${policy.id}" is already used at ${locate(earlier.file, earlier.fileText, earlier.offset)}.`,
        );
        continue;
      }
      byId.set(policy.id, policy);
      policies.push(policy);
    }
  }
  return { policies, messages };
}

/** The policies as Cedar's `staticPolicies` map, keyed by the ids chosen above. */
export function policyMap(policies: readonly ParsedPolicy[]): Record<string, string> {
  // fromEntries defines own properties, so even an id such as "__proto__" stays a plain key.
  return Object.fromEntries(policies.map((p) => [p.id, p.text]));
}

/**
 * The policy's `@id` annotation: its value, null for a bare `@id`, undefined when there is none. Reads the annotations at the head of a policy Cedar has already
 * parsed (so their syntax is known to be right), which is far quicker than converting each policy
 * to JSON; a value with escape sequences is left to Cedar to decode.
 */
export function idAnnotation(policy: string): string | null | undefined {
  let i = 0;
  const skip = (): void => {
    for (;;) {
      while (i < policy.length && /\s/.test(policy[i]!)) i += 1;
      if (!policy.startsWith('//', i)) return;
      const end = policy.indexOf('\n', i);
      i = end === -1 ? policy.length : end + 1;
    }
  };
  for (;;) {
    skip();
    if (policy[i] !== '@') return undefined;
    const name = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(policy.slice(i));
    if (name === null) return fromJson(policy);
    i += name[0].length;
    skip();
    if (policy[i] !== '(') {
      if (name[1] === 'id') return null;
      continue;
    }
    i += 1;
    skip();
    if (policy[i] !== '"') return fromJson(policy);
    const start = i + 1;
    const end = policy.indexOf('"', start);
    const raw = policy.slice(start, end);
    if (end === -1 || raw.includes('\\')) return fromJson(policy);
    i = end + 1;
    skip();
    if (policy[i] !== ')') return fromJson(policy);
    i += 1;
    if (name[1] === 'id') return raw;
  }
}

function fromJson(policy: string): string | null | undefined {
  const json = cedar.policyToJson(policy);
  return json.type === 'success' ? json.json.annotations?.['id'] : undefined;
}

// The policies come back as exact slices of the file, so searching forward from the end of the
// previous one finds each where it is written. Only a message's location depends on this.
function indexOrZero(text: string, part: string, from: number): number {
  const forward = text.indexOf(part, from);
  if (forward !== -1) return forward;
  return Math.max(0, text.indexOf(part));
}

/** Formats every diagnostic of a failed answer against one source text. */
export function diagnostics(
  errors: readonly cedar.DetailedError[],
  file: string,
  text: string,
): string[] {
  return errors.map((e) => formatDiagnostic(e, { file, text, offset: 0 }));
}
