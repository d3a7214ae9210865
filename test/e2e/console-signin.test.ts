import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, skipBrowser } from '../support/browser.js';
import { CONSOLE_DIST } from '../../packages/server/src/routes/console.js';
import { startSignInSetup } from '../../packages/server/test/signin-fixture.js';
import type { SignInSetup } from '../../packages/server/test/signin-fixture.js';

const skip = skipBrowser();
const root = mkdtempSync(join(tmpdir(), 'provenant-console-signin-'));
let setup: SignInSetup;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(join(CONSOLE_DIST, 'index.html'))) {
    throw new Error('The console is not built: run `npm run build -w @provenant/console`.');
  }
  setup = await startSignInSetup(join(root, 'data'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await setup?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Signs `user` in from the console's sign-in link, through the provider's own login page. */
async function signIn(user: string, returnTo: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // The provider's page imports a web font; this machine reaches nothing outside.
  await context.route(/fonts\.googleapis\.com/, (route) => route.abort());
  const collector = setup.collector.url;
  await page.goto(`${collector}/v1/auth/login?return_to=${encodeURIComponent(returnTo)}`);
  await page.waitForURL(`${setup.op.issuer}/interaction/**`);
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((url) => url.origin === collector);
  return page;
}

/** Who the browser's session belongs to, asked with the browser's own cookies. */
async function whoAmI(page: Page): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await page.request.get(`${setup.collector.url}/v1/auth/session`, {
    headers: { accept: 'application/json' },
  });
  return { status: res.status(), body: (await res.json()) as Record<string, unknown> };
}

describe.skipIf(skip)('the console signed in through the OpenID provider, in Chromium', () => {
  it('lands an analyst on the page they asked for, with a session the console can use', async () => {
    const page = await signIn('alice', '/#/events');
    expect(new URL(page.url()).pathname).toBe('/');
    expect(new URL(page.url()).hash).toBe('#/events');
    await page.getByRole('heading').first().waitFor();
    const cookies = await page.context().cookies(setup.collector.url);
    const session = cookies.find((c) => c.name === 'provenant_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    // The sign-in cookie is spent.
    expect(cookies.find((c) => c.name === 'provenant_signin')).toBeUndefined();
    expect(await whoAmI(page)).toMatchObject({
      status: 200,
      body: { subject: 'user:alice', roles: ['analyst'] },
    });
    // The console says who is signed in and shows the records, not the sign-in box.
    await expect
      .poll(() => page.getByTestId('session').innerText())
      .toContain('Signed in as user:alice (analyst)');
    expect(await page.locator('.signin').count()).toBe(0);
    // Signing out ends the session and continues at the provider's own sign-out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${setup.op.issuer}/session/end**`);
    expect((await whoAmI(page)).status).toBe(401);
    await page.context().close();
  });

  it('shows a user with no mapped role a refusal page, and no session', async () => {
    const page = await signIn('carol', '/');
    expect(await page.locator('h1').innerText()).toBe('Sign-in refused');
    expect(await page.locator('[data-code]').getAttribute('data-code')).toBe('role_required');
    expect((await whoAmI(page)).status).toBe(401);
    await page.context().close();
  });
});
