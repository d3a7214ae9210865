import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, skipBrowser } from '../support/browser.js';
import { uuidv7 } from '@provenant/core';
import { startCollector } from '@provenant/server';
import type { RunningCollector } from '@provenant/server';
import { ADMIN, ISSUER } from '../../packages/server/test/identity-helpers.js';
import { asAdmin } from '../../packages/server/test/helpers.js';
import { TRACE, investigationScenario } from '../../packages/server/test/investigate-scenario.js';
import { CONSOLE_DIST, consoleRoutes } from '../../packages/server/src/routes/console.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/policies/', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const skip = skipBrowser();
const root = mkdtempSync(join(tmpdir(), 'provenant-console-'));

let collector: RunningCollector;
let browser: Browser;
let scenario: Awaited<ReturnType<typeof investigationScenario>>;

beforeAll(async () => {
  if (!existsSync(join(CONSOLE_DIST, 'index.html'))) {
    throw new Error('The console is not built: run `npm run build -w @provenant/console`.');
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  collector = await startCollector({
    dataDir: join(root, 'data'),
    host: '127.0.0.1',
    port: 0,
    policiesDir: EXAMPLES,
    identity: { devLogin: true },
    // The console signs in through its development sign-in, as an analyst and auditor.
    devSignIn: { roles: ['analyst', 'auditor'] },
    anonymousIngest: 'asserted',
    adminToken: ADMIN,
    // The scenario's agent assertions are addressed to the test issuer.
    issuerUrl: ISSUER,
  });
  scenario = await investigationScenario(collector.app);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await collector?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh page at 1280×800 that records console errors and page errors. */
async function open(path: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page);
  await page.goto(`${collector.url}/${path}`);
  // A fresh document, as a user opening the link has (a hash change keeps the old focus).
  await page.reload();
  return { page, errors };
}

/** Records are shown only with a role: signs in through the console's own form. */
async function signIn(page: Page): Promise<void> {
  await page.goto(`${collector.url}/`);
  await page.getByLabel(/User/).fill('dana');
  await page.getByRole('button', { name: 'Sign in (development)' }).click();
  await expect.poll(() => page.getByTestId('session').innerText()).toContain('user:dana');
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });

describe.skipIf(skip)('web console in Chromium', () => {
  it('shows no record before sign-in, signs in as an analyst, and signs out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${collector.url}/#/events`);
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).count()).toBe(1);
    expect(await page.getByTestId('event-row').count()).toBe(0);
    await page.getByLabel(/User/).fill('erin');
    await page.getByRole('button', { name: 'Sign in (development)' }).click();
    await expect.poll(() => page.getByTestId('event-row').count()).toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('session').innerText()).toContain('analyst, auditor');
    // The session cookie is HttpOnly and SameSite=Strict: page scripts cannot read it.
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'provenant_session', httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).count()).toBe(1);
    expect(await page.getByTestId('event-row').count()).toBe(0);
    await context.close();
  });

  it('lists events with filters and paging', async () => {
    const { page, errors } = await open('#/events');
    await expect.poll(() => page.getByTestId('event-row').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('table').innerText()).toContain('github.get_file');
    // Filter by type, through the form, with the keyboard.
    await page.getByLabel('Type').fill('tool.called');
    await page.getByLabel('Type').press('Enter');
    await expect.poll(() => page.getByTestId('event-row').count()).toBe(1);
    expect(page.url()).toContain('type=tool.called');
    await shot(page, 'events');
    // One record: no older page (the pager's button is there, disabled).
    expect(await page.getByRole('button', { name: 'Older →' }).isDisabled()).toBe(true);
    // Cursor paging, two records a page.
    await page.goto(`${collector.url}/#/events?limit=2`);
    await expect.poll(() => page.getByTestId('event-row').count()).toBe(2);
    const first = await page.getByTestId('event-row').allInnerTexts();
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.waitForURL(/cursor=/);
    await expect.poll(() => page.getByTestId('event-row').first().innerText()).not.toBe(first[0]);
    expect(await page.getByTestId('event-row').count()).toBe(2);
    expect(page.url()).toContain('limit=2');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows a trace as a tree', async () => {
    const { page, errors } = await open(`#/trace/${TRACE}`);
    await page.getByText('record(s)').waitFor();
    const tree = await page.locator('.tree').innerText();
    expect(tree).toContain('prompt.received');
    expect(tree).toContain('tool.called');
    // The action is a child of the prompt: nested list.
    expect(await page.locator('.tree ul ul li').count()).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId('timeline').locator('circle').count()).toBe(2);
    await shot(page, 'trace');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows a trace larger than a page, with "More records" for the next page', async () => {
    const big = 'beefbeefbeefbeefbeefbeefbeefbeef';
    const span = (i: number) => i.toString(16).padStart(16, '0');
    const records = Array.from({ length: 1001 }, (_, i) => ({
      schema: 'provenant.event/v1',
      id: uuidv7(),
      time: new Date(Date.now() - 10_000 + i).toISOString(),
      type: 'tool.called',
      initiator: { id: 'user:bulk', kind: 'human' },
      actor: { id: 'spiffe://acme.test/agent/bulk/instance/1', kind: 'agent_instance' },
      trace: { trace_id: big, span_id: span(i + 1), ...(i ? { parent_span_id: span(i) } : {}) },
    }));
    const posted = await collector.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(records),
    });
    expect(posted.json().accepted).toHaveLength(1001);
    const { page, errors } = await open(`#/trace/${big}`);
    await expect
      .poll(() => page.getByTestId('trace-count').innerText())
      .toBe('1000 record(s) shown; more records follow');
    // A chain 1,000 deep is drawn 100 deep at most: the rest continues in roots of their own.
    expect(await page.getByText('(continues under').count()).toBe(9);
    await page.getByTestId('trace-more').click();
    await expect.poll(() => page.getByTestId('trace-count').innerText()).toBe('1001 record(s)');
    expect(await page.getByTestId('trace-more').count()).toBe(0);
    expect(await page.getByTestId('timeline').locator('circle').count()).toBe(1001);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows provenance with every inclusion proof verified in the browser', async () => {
    const { page, errors } = await open(`#/provenance/${scenario.actionId}`);
    const verdict = page.getByTestId('browser-verdict');
    await verdict.waitFor();
    expect(await verdict.innerText()).toMatch(
      /^✓ Checkpoint signature valid \(signed by .+\); 5 of 5 records proven included/,
    );
    const narrative = await page.getByTestId('narrative').innerText();
    expect(narrative).toContain('alice asked planner/19c2 with repo:read repo:write');
    expect(narrative).toContain('planner/19c2 delegated repo:read to researcher/7f3a');
    expect(narrative).toMatch(/researcher\/7f3a called github\.get_file on repo:acme\/payments/);
    const inclusion = await page.getByTestId('browser-inclusion').allInnerTexts();
    expect(inclusion).toHaveLength(5);
    expect(inclusion.every((t) => t.trim() === '✓')).toBe(true);
    // The chain of actors, each witness record a mark on its hop, proven included here.
    expect(await page.getByTestId('hop-name').allInnerTexts()).toEqual([
      'alice',
      'planner/19c2',
      'researcher/7f3a',
      'github.get_file',
    ]);
    const marks = await page
      .getByTestId('hop-mark')
      .evaluateAll((ms) => ms.map((m) => m.getAttribute('data-kind')));
    expect(marks).toEqual([
      'credential',
      'delegation',
      'delegation',
      'decision',
      'outcome',
      'attribution',
    ]);
    expect(await page.getByTestId('mark-included').allInnerTexts()).toEqual(
      Array(5).fill('in log ✓'),
    );
    expect(await page.getByTestId('hops').innerText()).toContain('user:alice');
    await shot(page, 'provenance');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('rejects a record edited on the way (✗), and flags a changed verifier key', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.route(`**/v1/events/${scenario.actionId}/provenance`, async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as {
        evidence: { entries: { record: { outcome?: { status: string } } }[] };
      };
      const action = body.evidence.entries.at(-1)!.record;
      action.outcome = { status: 'failure' };
      await route.fulfill({ response: res, json: body });
    });
    await signIn(page);
    await page.goto(`${collector.url}/#/provenance/${scenario.actionId}`);
    const verdict = page.getByTestId('browser-verdict');
    await verdict.waitFor();
    expect(await verdict.innerText()).toMatch(
      /^✗ Checkpoint signature valid .*; inclusion FAILED: only 4 of 5 records proven included/,
    );
    const inclusion = await page.getByTestId('browser-inclusion').allInnerTexts();
    expect(inclusion.filter((t) => t.trim() === '✗')).toHaveLength(1);
    expect(await page.locator('table').innerText()).toContain(
      "the record's canonical JSON hashes to",
    );
    await shot(page, 'provenance-tampered');

    // A served key that differs from the pinned one is shown, and nothing verifies against it.
    await page.unrouteAll();
    await page.evaluate(() =>
      localStorage.setItem(
        'provenant.console.verifierKey',
        'other+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ),
    );
    await page.reload();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toContain('not the pinned key');
    expect(await page.getByTestId('browser-verdict').innerText()).toMatch(/^✗/);
    await context.close();
  });

  it('shows the coverage numbers and bars', async () => {
    const { page, errors } = await open('#/coverage');
    await page.getByTestId('coverage-numbers').waitFor();
    const report = (await (
      await fetch(`${collector.url}/v1/reports/coverage`, { headers: asAdmin })
    ).json()) as {
      records: number;
      actions: number;
    };
    expect(await page.getByTestId('cov-records').innerText()).toBe(String(report.records));
    expect(await page.getByTestId('cov-actions').innerText()).toBe(String(report.actions));
    expect(report.actions).toBeGreaterThanOrEqual(1);
    expect(await page.locator('svg[role=img] rect').count()).toBeGreaterThanOrEqual(4);
    await shot(page, 'coverage');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('links each coverage number to the records behind it', async () => {
    const { page, errors } = await open('#/coverage');
    await page.getByTestId('coverage-numbers').waitFor();
    const report = (await (
      await fetch(`${collector.url}/v1/reports/coverage`, { headers: asAdmin })
    ).json()) as {
      records: number;
      credential_lifetimes: { count: number };
      links: Record<string, string>;
    };
    // every by_class cell is a link to its measure
    expect(await page.getByTestId('cov-by-class').locator('a[data-measure]').count()).toBe(20);
    // the records count: its link lists exactly that many records (pages of 100)
    await page.getByTestId('cov-records').getByRole('link').click();
    await page.waitForURL(/#\/coverage\/records\?measure=records/);
    await page.getByTestId('coverage-records').waitFor();
    expect(await page.getByTestId('coverage-records').locator('tbody tr').count()).toBe(
      Math.min(100, report.records),
    );
    // the credentials issued: the ids listed are the ones the API gives for the measure
    await page.goto(`${collector.url}/#/coverage`);
    await page
      .getByTestId('cov-credentials')
      .locator('a[data-measure=credential_lifetimes]')
      .click();
    await page.getByTestId('coverage-records').waitFor();
    const shown = await page
      .getByTestId('coverage-records')
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    const api = (await (
      await fetch(`${collector.url}${report.links['credential_lifetimes']}`, { headers: asAdmin })
    ).json()) as { records: { id: string }[] };
    expect(shown).toEqual(api.records.map((r) => r.id));
    expect(shown).toHaveLength(report.credential_lifetimes.count);
    await shot(page, 'coverage-records');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows the log checkpoint, size and verifier key', async () => {
    const { page, errors } = await open('#/log');
    await page.getByTestId('checkpoint').waitFor();
    const key = (await (await fetch(`${collector.url}/v1/log/key`)).text()).trim();
    expect(await page.getByTestId('verifier-key').innerText()).toBe(key);
    const size = collector.log.size;
    expect(await page.getByTestId('log-size').innerText()).toContain(String(size));
    expect(await page.getByTestId('log-size').innerText()).toContain('✓');
    // Keyboard: Tab reaches the skip link, then the navigation links; Enter follows one.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/events$/);
    await shot(page, 'log');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('serves the console files with their types and nothing outside dist', async () => {
    const home = await fetch(`${collector.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toContain('text/html');
    const html = await home.text();
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${collector.url}${js}`);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    for (const path of [
      '/assets/../index.html',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/..%5c..%5cpackage.json',
      '/assets/nope.js',
    ]) {
      const res = await collector.app.inject({ url: path });
      expect(res.statusCode, path).toBe(404);
    }
    // The API is not shadowed.
    expect((await fetch(`${collector.url}/v1/log/key`)).headers.get('content-type')).toContain(
      'text/plain',
    );
    expect((await fetch(`${collector.url}/checkpoint`)).status).toBe(200);
  });

  it('answers / with a hint to build when the console is not built', async () => {
    const app = Fastify();
    consoleRoutes(app, join(root, 'no-such-dist'));
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('npm run build');
    expect((await app.inject({ url: '/assets/index.js' })).statusCode).toBe(404);
    await app.close();
  });
});
