// An agent instance for the benchmarks: a fresh Ed25519 key (its public JWK to register) and
// RFC 7523 client assertions signed with it.
import { randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

export async function agentKey(id) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const pub = await exportJWK(publicKey);
  const jwk = { ...pub, kid: await calculateJwkThumbprint(pub), alg: 'EdDSA' };
  const assertion = (aud) => {
    const t = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid })
      .setIssuer(id)
      .setSubject(id)
      .setAudience(aud)
      .setIssuedAt(t)
      .setExpirationTime(t + 300)
      .setJti(randomUUID())
      .sign(privateKey);
  };
  return { id, jwk, assertion };
}
