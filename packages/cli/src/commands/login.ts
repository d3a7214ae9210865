import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { intFlag, parseFlags, serverUrl } from '../lib/args.js';
import { removeCredential, storeCredential } from '../lib/credentials.js';
import { CliError, EXIT } from '../lib/errors.js';
import type { CommandContext } from '../main.js';

/** The collector's public client for the CLI (RFC 8252: a native app, no secret, PKCE). */
export const CLI_CLIENT_ID = 'provenant-cli';

const PAGE = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>\n`;

/**
 * `provenant login`: signs the user in through the collector's identity provider with the
 * authorization code flow and PKCE on a loopback redirect (RFC 8252 §7.3), then stores the
 * collector credential it hands out in the user's config folder (0600).
 */
export async function login(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    collector: { type: 'string' },
    server: { type: 'string' },
    port: { type: 'string' },
    timeout: { type: 'string' },
  });
  const base = serverUrl(
    values.collector ?? values.server,
    ctx.env,
    values.collector !== undefined ? 'collector' : 'server',
  );
  const port = intFlag(values.port, 'port', 0, 65535) ?? 0;
  const timeoutSec = intFlag(values.timeout, 'timeout', 1, 3600) ?? 300;
  const config = await discover(base);

  const listener = createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (e) =>
      reject(
        new CliError(
          'port_unavailable',
          `Cannot listen on 127.0.0.1:${port}: ${e.message}.`,
          EXIT.unavailable,
        ),
      ),
    );
    listener.listen(port, '127.0.0.1', resolve);
  });
  try {
    const redirectUri = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/callback`;
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      response_type: 'code',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    ctx.err(
      `Open this URL in your browser to sign in to ${base}:\n\n  ${url.href}\n\nWaiting up to ${timeoutSec} s for the sign-in to finish…\n`,
    );
    const tokens = await new Promise<oidc.TokenEndpointResponse>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new CliError('signin_timeout', `No sign-in within ${timeoutSec} s.`, EXIT.unavailable),
          ),
        timeoutSec * 1000,
      );
      listener.on('request', (req: IncomingMessage, res: ServerResponse) => {
        const current = new URL(req.url ?? '/', redirectUri);
        if (current.pathname !== '/callback') {
          res.writeHead(404).end();
          return;
        }
        void oidc
          .authorizationCodeGrant(config, current, {
            pkceCodeVerifier: verifier,
            expectedState: state,
          })
          .then((answer) => {
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
            res.end(PAGE('Signed in', 'You are signed in to Provenant; you can close this tab.'));
            clearTimeout(timer);
            resolve(answer);
          })
          .catch((e: unknown) => {
            const message = refusal(e);
            res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
            res.end(PAGE('Sign-in refused', message.replace(/[<>&]/g, '')));
            clearTimeout(timer);
            reject(new CliError('signin_refused', message, EXIT.verificationFailed));
          });
      });
    });
    const claims = decodeJwt(tokens.access_token);
    const expiresAt = new Date(
      (typeof claims.exp === 'number' ? claims.exp : Date.now() / 1000 + (tokens.expires_in ?? 0)) *
        1000,
    );
    const roles = Array.isArray(claims['roles']) ? (claims['roles'] as unknown[]).map(String) : [];
    const file = storeCredential(ctx.env, base, {
      access_token: tokens.access_token,
      expires_at: expiresAt.toISOString(),
      ...(typeof claims.sub === 'string' ? { subject: claims.sub } : {}),
      roles,
    });
    ctx.out(
      `Signed in to ${base} as ${claims.sub ?? '?'}${roles.length ? ` (${roles.join(', ')})` : ''}; ` +
        `the credential expires at ${expiresAt.toISOString()}.\nStored in ${file}\n`,
    );
    return EXIT.ok;
  } finally {
    listener.closeAllConnections();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }
}

/** `provenant logout`: forgets the stored credential and revokes it at the collector. */
export async function logout(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    collector: { type: 'string' },
    server: { type: 'string' },
  });
  const base = serverUrl(
    values.collector ?? values.server,
    ctx.env,
    values.collector !== undefined ? 'collector' : 'server',
  );
  const held = removeCredential(ctx.env, base);
  if (held === undefined) {
    ctx.out(`Not signed in to ${base}.\n`);
    return EXIT.ok;
  }
  // Revoked so a copy taken from the file is worthless too; forgotten locally either way.
  const revoked = await fetch(`${base}/v1/token/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: held.access_token }).toString(),
    signal: AbortSignal.timeout(15_000),
  }).then(
    (r) => r.ok,
    () => false,
  );
  ctx.out(
    `Signed out of ${base}${revoked ? '; the credential is revoked' : ' (the collector could not be told; the credential stays valid until it expires)'}.\n`,
  );
  return EXIT.ok;
}

/** The collector's RFC 8414 metadata, once its authorization endpoint is known to sign humans in. */
async function discover(base: string): Promise<oidc.Configuration> {
  let config: oidc.Configuration;
  try {
    config = await oidc.discovery(new URL(base), CLI_CLIENT_ID, undefined, oidc.None(), {
      algorithm: 'oauth2',
      execute: new URL(base).protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
      timeout: 15,
    });
  } catch (e) {
    throw new CliError(
      'server_unreachable',
      `Cannot read the sign-in metadata of ${base}: ${(e as Error).message}.`,
      EXIT.unavailable,
    );
  }
  const endpoint = config.serverMetadata().authorization_endpoint;
  // The endpoint is always advertised (MCP clients need it even for client_credentials); a
  // collector that signs nobody in answers it 404 signin_not_configured.
  const answer =
    endpoint === undefined
      ? undefined
      : await fetch(endpoint, { redirect: 'manual', signal: AbortSignal.timeout(15_000) })
          .then(async (res) => (res.status === 404 ? await res.text() : ''))
          .catch(() => '');
  if (endpoint === undefined || (answer ?? '').includes('signin_not_configured')) {
    throw new CliError(
      'signin_not_configured',
      `${base} has no identity provider configured for sign-in (serve --oidc-issuer … --oidc-client-id …).`,
      EXIT.unavailable,
    );
  }
  return config;
}

function refusal(e: unknown): string {
  if (e instanceof oidc.AuthorizationResponseError) {
    return `${e.error}${e.error_description ? `: ${e.error_description}` : ''}`;
  }
  if (e instanceof oidc.ResponseBodyError) {
    return `${e.error}${e.error_description ? `: ${e.error_description}` : ''}`;
  }
  return (e as Error).message;
}
