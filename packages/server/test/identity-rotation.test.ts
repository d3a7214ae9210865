import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IssuerKeyRing } from '@provenant/identity';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { record } from './helpers.js';
import {
  ADMIN,
  ISSUER,
  assertion,
  makeAgent,
  makeIdentityApp,
  register,
  token,
} from './identity-helpers.js';
import type { Agent } from './identity-helpers.js';
import { MemoryRegistryStore } from '../src/identity/registry.js';
import { IdentityService, defaultIdentityConfig } from '../src/identity/service.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-rotation-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const PLANNER = 'spiffe://acme.test/agent/planner/instance/19c2';

async function setup() {
  const keysFile = join(root, `issuer-keys-${n++}.json`);
  const made = await makeIdentityApp({ keysFile });
  const planner = await makeAgent(PLANNER);
  await register(made.app, { id: PLANNER, kind: 'agent_instance', publicJwks: [planner.jwk] });
  return { ...made, keysFile, planner };
}

const credential = async (app: FastifyInstance, planner: Agent) =>
  (
    await token(app, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await assertion(planner),
    })
  ).body.access_token!;

/** Posts one record of the planner's own under `bearer`; the status and error code. */
async function ingest(app: FastifyInstance, bearer: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    payload: JSON.stringify(
      record({
        initiator: { id: PLANNER, kind: 'agent_instance' },
        actor: { id: PLANNER, kind: 'agent_instance' },
        time: new Date().toISOString(),
      }),
    ),
  });
  return {
    status: res.statusCode,
    code: (res.json() as { error?: { code?: string } }).error?.code,
  };
}

const rotate = (app: FastifyInstance, body?: unknown) =>
  app.inject({
    method: 'POST',
    url: '/v1/admin/keys/rotate',
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });

const jwksKids = async (app: FastifyInstance) =>
  (
    (await app.inject({ url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] }
  ).keys.map((k) => k.kid);

/** The ring as the keys file holds it now. */
const ringOnDisk = (file: string) => IssuerKeyRing.fromJSON(JSON.parse(readFileSync(file, 'utf8')));

/** A token signed with `kid`'s private key from `ring`, as whoever stole it would mint one. */
async function mintWith(ring: IssuerKeyRing, kid: string, iat: number) {
  const key = ring.find(kid)!;
  return new SignJWT({ scope: '', roles: ['producer'] })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience('provenant')
    .setSubject(PLANNER)
    .setJti(`stolen-${iat}`)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 300)
    .sign(key.privateKey);
}

describe('issuer key rotation', () => {
  it('keeps old-key credentials issued before the rotation, and refuses ones minted after it', async () => {
    const { app, keysFile, planner } = await setup();
    const before = await credential(app, planner);
    const oldKid = decodeProtectedHeader(before).kid!;
    const stolen = ringOnDisk(keysFile); // a copy of the key file, taken before the rotation
    const res = await rotate(app);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ retired: [] });
    expect(await jwksKids(app)).toEqual([oldKid, res.json().kid]);

    expect(await ingest(app, before)).toMatchObject({ status: 200 });
    // Issued in the second after the rotation (iat is whole seconds; within the clock skew).
    const minted = await mintWith(stolen, oldKid, Math.floor(Date.now() / 1000) + 1);
    expect(await ingest(app, minted)).toEqual({ status: 401, code: 'key_retired' });
    // New credentials are signed with the new key.
    const after = await credential(app, planner);
    expect(decodeProtectedHeader(after).kid).toBe(res.json().kid);
    expect(await ingest(app, after)).toMatchObject({ status: 200 });
  });

  it('retire-now: the old key stops verifying at once, leaves the JWKS and the key file', async () => {
    const { app, keysFile, planner, storage } = await setup();
    const before = await credential(app, planner);
    expect(await ingest(app, before)).toMatchObject({ status: 200 }); // and now cached
    const oldKid = decodeProtectedHeader(before).kid!;
    const oldPrivate = JSON.stringify(
      ringOnDisk(keysFile).find(oldKid)!.privateKey.export({ format: 'jwk' }),
    );
    const oldD = (JSON.parse(oldPrivate) as { d: string }).d;
    expect(readFileSync(keysFile, 'utf8')).toContain(oldD);

    const res = await rotate(app, { retire_now: true });
    expect(res.statusCode).toBe(200);
    const { kid, retired } = res.json() as { kid: string; retired: string[] };
    expect(retired).toEqual([oldKid]);
    const onDisk = readFileSync(keysFile, 'utf8');
    expect(onDisk).not.toContain(oldD); // the private half is gone from disk
    expect(onDisk).not.toContain(oldKid);
    expect(
      ringOnDisk(keysFile)
        .all()
        .map((k) => k.kid),
    ).toEqual([kid]);
    expect(await jwksKids(app)).toEqual([kid]);
    expect(await ingest(app, before)).toEqual({ status: 401, code: 'unknown_kid' });

    // The rotation is a ledger record naming what was retired.
    const entries = await storage.getEntries(0, 10_000);
    const rotated = entries
      .map((e) => JSON.parse(e.canonical) as { type: string; action?: { args?: unknown } })
      .filter((r) => r.type === 'issuer.key_rotated');
    expect(rotated.map((r) => r.action?.args)).toEqual([
      { previous_kid: oldKid, retire_now: true, retired_kids: [oldKid] },
    ]);

    // A collector restarted on the same files refuses the old credential too.
    const again = await IdentityService.create(new MemoryRegistryStore(), {
      ...defaultIdentityConfig(ISSUER),
      keysFile,
    });
    await expect(again.verifier.verify(before)).rejects.toMatchObject({ code: 'unknown_kid' });
    expect(decodeJwt(await credential(app, planner))['iss']).toBe(ISSUER);
  });

  it('retire-now on one cluster member: the others refuse the key at their next refresh', async () => {
    const shared = new MemoryRegistryStore(); // one registry database, two collectors
    const fileA = join(root, `issuer-keys-a-${n++}.json`);
    const a = await makeIdentityApp({ keysFile: fileA }, shared);
    const planner = await makeAgent(PLANNER);
    await register(a.app, { id: PLANNER, kind: 'agent_instance', publicJwks: [planner.jwk] });
    // The operator copied A's ring to B, so B verifies (and signs with) the same key.
    const fileB = join(root, `issuer-keys-b-${n++}.json`);
    writeFileSync(fileB, readFileSync(fileA));
    const b = await makeIdentityApp({ keysFile: fileB }, shared);
    const before = await credential(a.app, planner);
    expect((await b.identity.verifier.verify(before)).subject).toBe(PLANNER); // cached on B

    expect((await rotate(a.app, { retire_now: true })).statusCode).toBe(200);
    await b.identity.refreshRegistry();
    await expect(b.identity.verifier.verify(before)).rejects.toMatchObject({ code: 'unknown_kid' });
    // B still holds the old key in its own file, but signs nothing more with it until the new
    // ring is copied over.
    const refused = await token(b.app, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await assertion(planner),
    });
    expect(refused).toMatchObject({
      status: 503,
      body: { error: 'temporarily_unavailable', provenant_code: 'key_retired' },
    });
    writeFileSync(fileB, readFileSync(fileA));
    const c = await makeIdentityApp({ keysFile: fileB }, shared); // B restarted on the new ring
    const fresh = await credential(c.app, planner);
    expect((await a.identity.verifier.verify(fresh)).subject).toBe(PLANNER);
  });

  it('refuses a rotation option that is not a boolean, and needs the admin token', async () => {
    const { app } = await setup();
    expect((await rotate(app, { retire_now: 'yes' })).statusCode).toBe(400);
    const anonymous = await app.inject({ method: 'POST', url: '/v1/admin/keys/rotate' });
    expect(anonymous.statusCode).toBe(401);
  });
});
