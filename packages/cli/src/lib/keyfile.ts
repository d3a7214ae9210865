import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { JWK } from 'jose';
import { CliError, EXIT, usageError } from './errors.js';

/** An agent instance's identity file: its principal id and its private key (JWK), mode 0600. */
export interface IdentityFile {
  readonly principal: string;
  readonly jwk: JWK;
}

export async function generateIdentityFile(file: string, principal: string): Promise<JWK> {
  if (existsSync(file)) throw usageError(`${file} exists; a key file is never overwritten.`);
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
    crv: 'Ed25519',
    extractable: true,
  });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA', use: 'sig' };
  writeFileSync(file, `${JSON.stringify({ principal, jwk }, null, 2)}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  return { ...pub, kid, alg: 'EdDSA', use: 'sig' };
}

export function readIdentityFile(file: string): IdentityFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new CliError('unreadable', `Cannot read the identity file ${file}.`, EXIT.unavailable);
  }
  const f = parsed as Partial<IdentityFile>;
  if (typeof f.principal !== 'string' || typeof f.jwk !== 'object' || f.jwk === null || !f.jwk.d) {
    throw usageError(`${file} is not a Provenant identity file (principal + private JWK).`);
  }
  return { principal: f.principal, jwk: f.jwk };
}

/** An RFC 7523 client assertion: proves possession of the registered key to the token endpoint. */
export async function clientAssertion(
  identity: IdentityFile,
  tokenEndpoint: string,
): Promise<string> {
  const key = await importJWK(identity.jwk, identity.jwk.alg ?? 'EdDSA');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({
      alg: identity.jwk.alg ?? 'EdDSA',
      kid: identity.jwk.kid ?? '',
      typ: 'JWT',
    })
    .setIssuer(identity.principal)
    .setSubject(identity.principal)
    .setAudience(tokenEndpoint)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .setJti(randomUUID())
    .sign(key);
}
