import { existsSync } from 'node:fs';

/** The Chromium the browser tests drive with playwright-core: Debian's, or `CHROMIUM_PATH`. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

let said = false;

/**
 * True when the browser tests should skip: only outside CI, when there is no Chromium, and
 * then with one loud line saying what to install. With `CI=true` a missing Chromium is an
 * error (the test file fails), never a skip.
 */
export function skipBrowser(): boolean {
  if (existsSync(CHROMIUM)) return false;
  const what = `no Chromium at ${CHROMIUM}: install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH`;
  if (process.env['CI']) throw new Error(`CI=true but ${what}.`);
  if (!said) {
    said = true;
    process.stderr.write(`\n*** SKIPPING the browser tests: ${what}. ***\n\n`);
  }
  return true;
}
