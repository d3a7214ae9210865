import { useLayoutEffect, useRef } from 'react';

export interface PagerButton {
  readonly key: string;
  readonly label: string;
  /** Goes to that page; null when there is none (the button is disabled). */
  readonly go: (() => void) | null;
}

/**
 * The button last pressed, to give it the focus back once its page is shown: the results are
 * replaced while a page loads, and a keyboard user paging on should not start over from the top.
 */
let pressed: string | null = null;

/** Page buttons; the first pager mounted after a page turn takes the focus back. */
export function Pager({
  buttons,
  fallback,
}: {
  buttons: readonly PagerButton[];
  fallback: string;
}) {
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  useLayoutEffect(() => {
    if (pressed === null) return;
    const button = refs.current[pressed];
    pressed = null;
    if (button && !button.disabled) button.focus();
    else document.getElementById(fallback)?.focus();
  }, [fallback]);
  return (
    <nav className="pager" aria-label="Pages">
      {buttons.map((b) => (
        <button
          key={b.key}
          ref={(el) => {
            refs.current[b.key] = el;
          }}
          type="button"
          data-pager={b.key}
          disabled={b.go === null}
          onClick={() => {
            pressed = b.key;
            b.go?.();
          }}
        >
          {b.label}
        </button>
      ))}
    </nav>
  );
}
