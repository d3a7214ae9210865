// Shared by the SDK, MCP and e2e tests: a real collector in-process, with the example policies,
// the development sign-in and a known admin token, and the few HTTP calls that set up principals.
import { fileURLToPath } from 'node:url';
import { startCollector } from '@provenant/server';
import type { RunningCollector } from '@provenant/server';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';

export const ADMIN = 'test-admin-token';
export const POLICIES = fileURLToPath(new URL('../../examples/policies/', import.meta.url));

export function testCollector(dataDir: string, port = 0): Promise<RunningCollector> {
  return startCollector({
    dataDir,
    host: '127.0.0.1',
    port,
    policiesDir: POLICIES,
    identity: { devLogin: true },
    adminToken: ADMIN,
  });
}

/** A fresh agent instance identity: the private JWK (as the CLI's identity file holds) and the public one. */
export async function makeIdentity(
  principal: string,
): Promise<{ identity: { principal: string; jwk: JWK }; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
    crv: 'Ed25519',
    extractable: true,
  });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return {
    identity: { principal, jwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' } },
    publicJwk: { ...pub, kid, alg: 'EdDSA' },
  };
}

export async function register(url: string, principal: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/v1/principals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ shared: false, disabled: false, ...principal }),
  });
  if (res.status !== 201) throw new Error(`register failed: ${await res.text()}`);
}

/** Grants `role` to a registered principal (admin route; the grant is a ledger record). */
export async function grantRole(url: string, id: string, role: string): Promise<void> {
  const res = await fetch(`${url}/v1/principals/roles/grant`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id, role }),
  });
  if (res.status !== 200) throw new Error(`grant failed: ${await res.text()}`);
}

/** Headers that read with the test collectors' admin token. */
export const ADMIN_HEADERS: Readonly<Record<string, string>> = { authorization: `Bearer ${ADMIN}` };

export async function devLogin(url: string, user: string, scope: string): Promise<string> {
  const res = await fetch(`${url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
      username: user,
      scope,
    }).toString(),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`dev-login failed: ${JSON.stringify(body)}`);
  return body.access_token;
}
