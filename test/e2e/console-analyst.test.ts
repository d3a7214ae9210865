// The analyst's job in the console — "who caused this?" — end to end in Chromium at 1280×800
// against a real collector holding a few thousand records: search by resource, open the
// provenance, read the chain of actors, tell a denied action from an allowed one, follow an
// alert, do it with the keyboard, and find the search again in the URL. Screenshots go to
// test-artifacts/ (git-ignored).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '@provenant/server';
import type { RunningCollector } from '@provenant/server';
import { CONSOLE_DIST } from '../../packages/server/src/routes/console.js';
import { RESEARCHER, buildAnalystLedger } from '../support/analyst-ledger.js';
import type { AnalystLedger } from '../support/analyst-ledger.js';
import { ADMIN, ADMIN_HEADERS, POLICIES } from '../support/collector.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const root = mkdtempSync(join(tmpdir(), 'provenant-analyst-'));

let collector: RunningCollector;
let browser: Browser;
let ledger: AnalystLedger;

beforeAll(async () => {
  if (!existsSync(join(CONSOLE_DIST, 'index.html'))) {
    throw new Error('The console is not built: run `npm run build -w @provenant/console`.');
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  collector = await startCollector({
    dataDir: join(root, 'data'),
    host: '127.0.0.1',
    port: 0,
    policiesDir: POLICIES,
    identity: { devLogin: true },
    devSignIn: { roles: ['analyst'] },
    anonymousIngest: 'asserted',
    adminToken: ADMIN,
  });
  [ledger, browser] = await Promise.all([
    buildAnalystLedger(collector),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    }),
  ]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await collector?.close();
  rmSync(root, { recursive: true, force: true });
});

/** The signed-in analyst's cookies: one sign-in for the file (the collector rate-limits them). */
let signedIn: Awaited<ReturnType<BrowserContext['storageState']>> | null = null;

async function storageState() {
  if (signedIn) return signedIn;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${collector.url}/`);
  await page.getByLabel(/User/).fill('dana');
  await page.getByRole('button', { name: 'Sign in (development)' }).click();
  await page.getByTestId('session-user').waitFor();
  signedIn = await context.storageState();
  await context.close();
  return signedIn;
}

/** A signed-in analyst's fresh page at 1280×800, recording console and page errors. */
async function open(path: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    storageState: await storageState(),
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${collector.url}/${path}`);
  await page.getByTestId('session-user').waitFor();
  return { page, errors };
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `analyst-${name}.png`) });

/** The API's answer for a console search, as the admin reads it (the expected numbers). */
async function api(query: Record<string, string>) {
  const res = await fetch(`${collector.url}/v1/events?${new URLSearchParams(query)}`, {
    headers: ADMIN_HEADERS,
  });
  return (await res.json()) as {
    events: { id: string }[];
    total: { count: number; exact: boolean };
  };
}

const rowIds = (page: Page) =>
  page.getByTestId('event-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
const summary = (page: Page) => page.getByTestId('events-summary').innerText();

describe('the analyst in the console (Chromium, 1280×800, a ledger of 3,000 records)', () => {
  it('lists the newest first with the total, and shows who is signed in', async () => {
    const { page, errors } = await open('#/events');
    await page.getByTestId('events-summary').waitFor();
    expect(await page.getByTestId('session-user').innerText()).toBe('user:dana');
    const all = await api({ order: 'desc', limit: '1' });
    expect(all.total.count).toBeGreaterThan(ledger.filler);
    expect(await summary(page)).toContain(
      `Records 1–50 of ${all.total.exact ? '' : 'about '}${all.total.count.toLocaleString('en-US')}.`,
    );
    expect(await summary(page)).toContain('Newest first');
    // The last record written is the alert about the refused record: it comes first.
    const [first] = await rowIds(page);
    expect(first).toBe(all.events[0]!.id);
    expect(await page.getByTestId('event-row').first().getAttribute('data-type')).toBe(
      'security.alert',
    );
    await shot(page, 'events');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('finds a deletion by its resource and opens its provenance', async () => {
    const { page, errors } = await open('#/events');
    await page.getByTestId('search-box').fill('repo:acme/payments-old');
    await page.getByTestId('search-box').press('Enter');
    await page.waitForURL(/q=repo%3Aacme%2Fpayments-old/);
    // The denied deletion and the decision that denied it: nothing else names that resource.
    await expect.poll(() => summary(page)).toContain('Records 1–2 of 2.');
    const rows = page.getByTestId('event-row');
    expect(await rows.locator('code.resource').allInnerTexts()).toEqual([
      'repo:acme/payments-old',
      'repo:acme/payments-old',
    ]);
    await shot(page, 'search-resource');
    // Every record of the actor, from its name; the filter shows as a chip that removes it.
    await rows.first().getByRole('link', { name: 'researcher/7f3a' }).click();
    await page.waitForURL(/actor=spiffe/);
    const byActor = await api({ actor: RESEARCHER, order: 'desc', limit: '50' });
    await expect.poll(() => summary(page)).toContain(`of ${byActor.total.count}.`);
    expect(await page.getByRole('list', { name: 'Other filters' }).innerText()).toContain(
      `actor: ${RESEARCHER}`,
    );
    await page.goBack();
    await expect.poll(() => summary(page)).toContain('Records 1–2 of 2.');
    await page
      .getByRole('link', { name: 'Provenance of github.delete_repo on repo:acme/payments-old' })
      .click();
    await page.waitForURL(new RegExp(`#/provenance/${ledger.deleteId}$`));
    await expect
      .poll(() => page.getByTestId('prov-action').innerText())
      .toBe('github.delete_repo on repo:acme/payments-old');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('reads the chain of actors: alice → planner → researcher → the tool call', async () => {
    const { page, errors } = await open(`#/provenance/${ledger.deleteId}`);
    await page.getByTestId('browser-verdict').waitFor();
    const hops = page.getByTestId('hop');
    expect(await page.getByTestId('hop-name').allInnerTexts()).toEqual([
      'alice',
      'planner/19c2',
      'researcher/7f3a',
      'github.delete_repo',
    ]);
    expect(await hops.evaluateAll((h) => h.map((e) => e.getAttribute('data-role')))).toEqual([
      'human',
      'agent',
      'sub-agent',
      'tool call',
    ]);
    // The issuer and the decision point are witnesses: marks on hops, never hops.
    const drawn = await hops.locator('.hop-name, .hop-id').allInnerTexts();
    expect(drawn.filter((t) => t.includes('service:') || t.includes('provenant-'))).toEqual([]);
    const marksOf = (i: number) =>
      hops
        .nth(i)
        .getByTestId('hop-mark')
        .evaluateAll((ms) =>
          ms.map((m) => `${m.getAttribute('data-kind')}:${m.getAttribute('data-tone')}`),
        );
    expect(await marksOf(0)).toEqual(['credential:ok']);
    expect(await marksOf(1)).toEqual(['delegation:ok']);
    expect(await marksOf(2)).toEqual(['delegation:ok']);
    expect(await marksOf(3)).toEqual(['decision:bad', 'outcome:bad', 'attribution:ok']);
    const tool = await hops.nth(3).innerText();
    expect(tool).toContain('decision: denied');
    expect(tool).toContain('forbid-deep-irreversible');
    // Each witness record on a hop was proven included in the signed log by this browser.
    expect(await page.getByTestId('mark-included').allInnerTexts()).toEqual(
      Array(5).fill('in log ✓'),
    );
    expect(await page.getByTestId('browser-verdict').innerText()).toMatch(
      /^✓ Checkpoint signature valid \(signed by .+\); 5 of 5 records proven included in the signed log\.$/,
    );
    expect(await page.getByTestId('prov-outcome-badge').getAttribute('data-tone')).toBe('bad');
    await shot(page, 'provenance-denied');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('tells a denied action from an allowed one, an error and a pending one', async () => {
    const { page, errors } = await open('#/events?q=repo%3Aacme%2Fpayments&type=tool.called');
    await expect.poll(() => summary(page)).toContain('of 4.');
    const status = async (id: string) => {
      const badge = page.locator(`[data-testid=event-row][data-id="${id}"] [data-testid=status]`);
      return {
        text: (await badge.innerText()).trim(),
        tone: await badge.getAttribute('data-tone'),
        color: await badge.evaluate((b) => getComputedStyle(b).color),
        row: await page.locator(`[data-testid=event-row][data-id="${id}"]`).getAttribute('class'),
      };
    };
    const denied = await status(ledger.deleteId);
    const allowed = await status(ledger.pushId);
    const failed = await status(ledger.searchId);
    expect(denied).toMatchObject({ text: '✗ denied', tone: 'bad', row: 'row-bad' });
    expect(allowed).toMatchObject({ text: '✓ success', tone: 'ok', row: 'row-ok' });
    expect(failed).toMatchObject({ text: '✗ error', tone: 'bad', row: 'row-bad' });
    expect(denied.color).not.toBe(allowed.color);
    const pending = page.locator(
      '[data-testid=event-row][data-outcome=pending] [data-testid=status]',
    );
    expect(await pending.getAttribute('data-tone')).toBe('pending');
    const colors = new Set([
      denied.color,
      allowed.color,
      await pending.evaluate((b) => getComputedStyle(b).color),
    ]);
    expect(colors.size).toBe(3);
    await shot(page, 'denied-vs-allowed');
    // The allowed push: its decision allowed it, its outcome is a success.
    // Newest first: the push's outcome record comes before its intent (pending).
    await page
      .getByRole('link', { name: 'Provenance of github.push on repo:acme/payments' })
      .first()
      .click();
    await page.getByTestId('browser-verdict').waitFor();
    const tool = page.getByTestId('hop').last();
    expect(
      await tool
        .getByTestId('hop-mark')
        .evaluateAll((ms) =>
          ms.map((m) => `${m.getAttribute('data-kind')}:${m.getAttribute('data-tone')}`),
        ),
    ).toEqual(['decision:ok', 'outcome:ok', 'attribution:ok']);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('keeps an asserted action apart from what the browser checked', async () => {
    const { page, errors } = await open(`#/provenance/${ledger.assertedId}`);
    await page.getByTestId('browser-verdict').waitFor();
    expect(await page.getByTestId('prov-level').innerText()).toBe('⚠ asserted');
    expect(await page.getByTestId('prov-level').getAttribute('data-tone')).toBe('warn');
    expect(await page.getByTestId('attribution-verdict').innerText()).toContain(
      'nothing proves who acted',
    );
    // The browser proves the record is in the log; it does not say the record is "verified".
    const verdict = await page.getByTestId('browser-verdict').innerText();
    expect(verdict).toMatch(/^✓ Checkpoint signature valid .*1 of 1 record proven included/);
    expect(await page.locator('main').innerText()).not.toMatch(/every record verified/i);
    expect(await page.getByTestId('server-checks').innerText()).toMatch(/^✗ \d+ of \d+ failed/);
    expect(await page.getByTestId('hop-name').allInnerTexts()).toEqual([
      'u00',
      'worker/w0',
      'github.get_file',
    ]);
    expect(
      await page
        .getByTestId('hop')
        .first()
        .getByTestId('hop-mark')
        .evaluateAll((ms) => ms.map((m) => m.getAttribute('data-tone'))),
    ).toEqual(['warn']);
    await shot(page, 'provenance-asserted');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('lists the alerts, each linked to what it is about, none with a green tick', async () => {
    const { page, errors } = await open('#/alerts');
    const rows = page.getByTestId('alert-row');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(2);
    const alerts = await api({ type: 'security.alert', order: 'desc', limit: '50' });
    expect(await rows.count()).toBe(alerts.events.length);
    for (const text of await rows.allInnerTexts()) expect(text).not.toContain('✓');
    const tones = await rows
      .getByTestId('status')
      .evaluateAll((b) => b.map((e) => e.getAttribute('data-tone')));
    expect(new Set(tones)).toEqual(new Set(['bad']));
    // The refused record was never stored: the alert says so instead of linking to nothing.
    const refused = rows.filter({ hasText: 'attribution_mismatch' });
    expect(await refused.innerText()).toContain('(refused, not stored)');
    expect(await refused.getByTestId('alert-subject').count()).toBe(0);
    await shot(page, 'alerts');
    // A detection names a stored action: its link opens that action's provenance.
    const detection = rows.filter({ hasText: 'instance_many_initiators' }).first();
    const href = await detection.getByTestId('alert-subject').getAttribute('href');
    expect(href).toMatch(/^#\/provenance\/[0-9a-f-]{36}$/);
    await detection.getByTestId('alert-subject').click();
    await page.waitForURL(new RegExp(`${href}$`));
    await page.getByTestId('browser-verdict').waitFor();
    const subject = href!.slice('#/provenance/'.length);
    expect(await page.getByTestId('prov-subject').innerText()).toBe(subject);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('searches with the keyboard alone, the focus always visible', async () => {
    const { page, errors } = await open('#/events');
    await page.getByTestId('events-summary').waitFor();
    const focused = () =>
      page.evaluate(() => {
        const e = document.activeElement as HTMLElement | null;
        const s = e ? getComputedStyle(e) : null;
        return {
          text: (e?.getAttribute('data-testid') ?? e?.textContent ?? '').trim(),
          outline: s ? `${s.outlineStyle} ${s.outlineWidth}` : '',
        };
      });
    // The skip link jumps past the header: the next Tab is the search box.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await page.keyboard.press('Tab');
    expect((await focused()).text).toBe('search-box');
    await page.reload();
    await page.getByTestId('events-summary').waitFor();
    const order: string[] = [];
    for (let i = 0; i < 7; i++) {
      await page.keyboard.press('Tab');
      const f = await focused();
      order.push(f.text);
      expect(f.outline, f.text).not.toMatch(/^none|0px$/);
    }
    expect(order).toEqual([
      'Skip to content',
      'Events',
      'Alerts',
      'Coverage',
      'Log',
      'Sign out',
      'search-box',
    ]);
    await page.keyboard.type('github.delete_repo');
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=github.delete_repo/);
    await expect.poll(() => summary(page)).toContain('of 2.');
    expect((await focused()).text).toBe('search-box');
    // Paging with the keyboard keeps the focus on the button pressed.
    await page.getByTestId('search-box').fill('repo:acme/svc-1');
    await page.keyboard.press('Enter');
    await expect.poll(() => summary(page)).toContain('Records 1–50 of');
    await page.getByRole('button', { name: 'Older →' }).first().focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => summary(page)).toContain('Records 51–100 of');
    await expect.poll(async () => (await focused()).text).toBe('Older →');
    await page.keyboard.press('Shift+Tab');
    expect((await focused()).text).toBe('← Newer');
    await page.keyboard.press('Enter');
    await expect.poll(() => summary(page)).toContain('Records 1–50 of');
    // The first page has no newer one: the focus goes to the summary, not to the page's top.
    await expect.poll(async () => (await focused()).text).toBe('events-summary');
    await page.getByTestId('search-box').fill('github.delete_repo');
    await page.getByTestId('search-box').press('Enter');
    await expect.poll(() => summary(page)).toContain('of 2.');
    await page.getByTestId('search-box').focus();
    // On to the first provenance link, and Enter opens it.
    for (let i = 0; i < 40 && (await focused()).text !== 'provenance-link'; i++) {
      await page.keyboard.press('Tab');
    }
    expect(await focused()).toMatchObject({ text: 'provenance-link' });
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`#/provenance/${ledger.deleteId}$`));
    await page.getByTestId('browser-verdict').waitFor();
    await shot(page, 'keyboard');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('keeps the search in the URL: reload, back and forward restore it', async () => {
    const { page, errors } = await open('#/events');
    await page.getByTestId('events-summary').waitFor();
    await page.getByTestId('search-box').fill('repo:acme/svc-0');
    await page.getByLabel('Time').selectOption('24h');
    await page.getByLabel('Outcome').selectOption('success');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(/outcome=success/);
    const url = new URL(page.url());
    const query = new URLSearchParams(url.hash.split('?')[1]);
    expect(query.get('q')).toBe('repo:acme/svc-0');
    const from = query.get('from')!;
    expect(Date.now() - Date.parse(from)).toBeGreaterThanOrEqual(24 * 3600_000);
    expect(Date.now() - Date.parse(from)).toBeLessThan(25 * 3600_000);
    const expected = await api({
      q: 'repo:acme/svc-0',
      from,
      outcome: 'success',
      order: 'desc',
      limit: '50',
    });
    const n = expected.total.count.toLocaleString('en-US');
    expect(expected.total.count).toBeGreaterThan(100);
    await expect.poll(() => summary(page)).toContain(`Records 1–50 of ${n}.`);
    await expect.poll(() => rowIds(page)).toEqual(expected.events.map((e) => e.id));
    const page1 = await rowIds(page);

    await page.getByRole('button', { name: 'Older →' }).first().click();
    await page.waitForURL(/cursor=.*page=2/);
    await expect.poll(() => summary(page)).toContain(`Records 51–100 of ${n}.`);
    // The summary can show before the rows do: wait on the rows themselves.
    await expect.poll(async () => (await rowIds(page)).length).toBe(50);
    const page2 = await rowIds(page);
    expect(page2.some((id) => page1.includes(id))).toBe(false);

    // Reload: the same page of the same search, and the form says which.
    await page.reload();
    await expect.poll(() => summary(page)).toContain(`Records 51–100 of ${n}.`);
    await expect.poll(() => rowIds(page)).toEqual(page2);
    expect(await page.getByTestId('search-box').inputValue()).toBe('repo:acme/svc-0');
    expect(await page.getByLabel('Outcome').inputValue()).toBe('success');
    expect(await page.getByLabel('Time').inputValue()).toBe('custom');
    // The field holds the URL's from in UTC, to the second.
    const field = await page.getByLabel('From (UTC)').inputValue();
    expect(Date.parse(`${field}Z`)).toBe(Math.floor(Date.parse(from) / 1000) * 1000);
    await shot(page, 'url-state');

    await page.goBack();
    await expect.poll(() => summary(page)).toContain(`Records 1–50 of ${n}.`);
    await expect.poll(() => rowIds(page)).toEqual(page1);
    await page.goForward();
    await expect.poll(() => summary(page)).toContain(`Records 51–100 of ${n}.`);
    // And back a page by the collector's previous-page cursor.
    await page.getByRole('button', { name: '← Newer' }).first().click();
    await expect.poll(() => summary(page)).toContain(`Records 1–50 of ${n}.`);
    await expect.poll(() => rowIds(page)).toEqual(page1);

    // A link with from and to opens that window.
    const to = new Date(Date.now() - 2 * 24 * 3600_000).toISOString();
    const windowed = await api({ from: '2000-01-01T00:00:00Z', to, order: 'desc', limit: '50' });
    await page.goto(
      `${collector.url}/#/events?from=2000-01-01T00%3A00%3A00Z&to=${encodeURIComponent(to)}`,
    );
    await expect
      .poll(() => summary(page))
      .toContain(`of ${windowed.total.count.toLocaleString('en-US')}.`);
    await expect.poll(() => rowIds(page)).toEqual(windowed.events.map((e) => e.id));
    // A range that ends before it starts is refused in the form; the URL stays as it was.
    const before = page.url();
    // Times in the past, of a fixed day: the refusal must not depend on the time of the run.
    await page.getByLabel('From (UTC)').fill('2026-11-04T10:30');
    await page.getByLabel('To (UTC)').fill('2026-11-04T09:30');
    await expect.poll(() => page.getByLabel('From (UTC)').inputValue()).toBe('2026-11-04T10:30');
    await expect.poll(() => page.getByLabel('To (UTC)').inputValue()).toBe('2026-11-04T09:30');
    await page.getByLabel('To (UTC)').press('Enter');
    await expect.poll(() => page.getByRole('alert').count()).toBe(1);
    expect(await page.getByRole('alert').innerText()).toBe('"From" must be before "To".');
    expect(page.url()).toBe(before);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('is readable at 1280×800: nothing scrolls sideways', async () => {
    const { page, errors } = await open('#/events');
    const check = async (hash: string, ready: string) => {
      await page.goto(`${collector.url}/${hash}`);
      await page.getByTestId(ready).first().waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, hash).toBeLessThanOrEqual(1280);
    };
    await check('#/events', 'event-row');
    await check(`#/provenance/${ledger.deleteId}`, 'hop');
    await check('#/alerts', 'alert-row');
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
