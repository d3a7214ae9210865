import type { Label, Tone } from '../view/trust.ts';

/** A glyph beside the word, so tones differ without colour too. */
const GLYPH: Readonly<Record<Tone, string>> = {
  ok: '✓',
  bad: '✗',
  pending: '◷',
  warn: '⚠',
  neutral: '·',
};

/** A value with its tone: green success, red denied and error, amber pending and warnings. */
export function Badge({ label, testId }: { label: Label; testId?: string }) {
  return (
    <span
      className={`badge tone-${label.tone}`}
      data-tone={label.tone}
      data-testid={testId}
      title={label.explain}
    >
      <span aria-hidden="true">{GLYPH[label.tone]}</span> {label.text}
    </span>
  );
}

/** A record's time in UTC, to the millisecond, readable in a table column. */
export function Time({ iso }: { iso: string }) {
  const t = Date.parse(iso);
  const text = Number.isNaN(t) ? iso : new Date(t).toISOString().replace('T', ' ').replace('Z', '');
  return (
    <time dateTime={iso} title={`${iso} (UTC)`}>
      {text}
    </time>
  );
}
