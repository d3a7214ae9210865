import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CedarEngine,
  DecisionPoint,
  PolicyError,
  catalogAction,
  decidedAction,
  parseActionCatalog,
  policySetDigest,
  readPolicyFolder,
} from '../src/index.js';
import { ALICE, DELETE_REPO, EXAMPLES, PLANNER, READ_FILE, T0, credential } from './helpers.js';
import { directory, researcherFor } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'provenant-catalog-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const clock = () => T0;
const NONE = { privileged: false, irreversible: false, external: false };

function thrown(run: () => unknown): PolicyError {
  try {
    run();
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('parseActionCatalog', () => {
  it('reads class flags, risk and the resource pattern of each action', () => {
    const catalog = parseActionCatalog(
      JSON.stringify({
        actions: {
          'github.delete_repo': { class: ['irreversible'], risk: 'critical', resource: 'repo:*' },
          'github.get_file': { class: [], risk: 'low' },
        },
      }),
    );
    expect(catalog.actions.get('github.delete_repo')).toEqual({
      class: ['irreversible'],
      risk: 'critical',
      resource: 'repo:*',
    });
    expect(catalog.actions.get('github.get_file')).toEqual({ class: [], risk: 'low' });
  });

  it('refuses a malformed catalog with every problem and a stable code', () => {
    expect(thrown(() => parseActionCatalog('{')).code).toBe('invalid_action_catalog');
    expect(thrown(() => parseActionCatalog('[]')).code).toBe('invalid_action_catalog');
    const e = thrown(() =>
      parseActionCatalog(
        JSON.stringify({
          actions: {
            'a.b': { class: ['reversible'], risk: 'extreme', extra: 1 },
            'bad name!': { class: [], risk: 'low' },
            'c.d': { class: 'external', risk: 'low', resource: '' },
          },
          version: 2,
        }),
      ),
    );
    expect(e.code).toBe('invalid_action_catalog');
    expect(e.messages).toHaveLength(7);
    expect(e.message).toMatch(/^The action catalog is invalid: .* \(and 6 more\)$/);
  });
});

describe('catalogAction', () => {
  const catalog = parseActionCatalog(
    JSON.stringify({
      actions: {
        'github.delete_repo': { class: ['irreversible'], risk: 'high', resource: 'repo:*' },
      },
    }),
  );

  it('lets a caller raise the class and risk, never lower them', () => {
    const lowered = catalogAction(catalog, { ...DELETE_REPO, class: NONE, risk: 'low' });
    expect(lowered).toEqual({
      action: { ...DELETE_REPO, class: { ...NONE, irreversible: true }, risk: 'high' },
      catalog: 'known',
    });
    const raised = catalogAction(catalog, DELETE_REPO);
    expect(raised.action).toMatchObject({ class: DELETE_REPO.class, risk: 'critical' });
  });

  it("takes an unknown action as the caller's claim, and says so", () => {
    expect(catalogAction(catalog, READ_FILE)).toEqual({ action: READ_FILE, catalog: 'unknown' });
    expect(catalogAction(null, DELETE_REPO)).toEqual({ action: DELETE_REPO, catalog: 'unknown' });
  });

  it('names the pattern a resource falls outside of', () => {
    const outside = catalogAction(catalog, { ...DELETE_REPO, resource: 'bucket:payments' });
    expect(outside.resourceOutside).toBe('repo:*');
  });
});

describe('the catalog in a policy folder', () => {
  it('is read with the folder and covered by the policy set digest', () => {
    const folder = join(tmp, 'digest');
    cpSync(EXAMPLES, folder, { recursive: true });
    const before = readPolicyFolder(folder);
    expect(before.catalog).toBeDefined();
    writeFileSync(
      join(folder, 'actions.json'),
      JSON.stringify({ actions: { 'github.get_file': { class: [], risk: 'low' } } }),
    );
    const after = readPolicyFolder(folder);
    expect(after.files).toEqual(before.files);
    expect(policySetDigest(after)).not.toBe(policySetDigest(before));
    // A set without a catalog keeps the digest it always had.
    const { catalog: _c, ...plain } = before;
    expect(policySetDigest(plain)).toBe(
      policySetDigest({ files: plain.files, ...(plain.schema ? { schema: plain.schema } : {}) }),
    );
  });

  it('refuses a bad catalog at load and keeps the previous set and catalog active', async () => {
    const folder = join(tmp, 'bad');
    cpSync(EXAMPLES, folder, { recursive: true });
    const point = new DecisionPoint({ engine: new CedarEngine(), clock });
    const good = await point.load(readPolicyFolder(folder));
    writeFileSync(join(folder, 'actions.json'), '{"actions": {"github.delete_repo": {}}}');
    await expect(point.load(readPolicyFolder(folder))).rejects.toMatchObject({
      code: 'invalid_action_catalog',
    });
    expect(point.current()).toBe(good);
    // Still decided by the catalog that loaded: a lowered claim stays irreversible.
    const d = await point.decide(
      researcherFor(['repo:write']),
      { ...DELETE_REPO, class: NONE },
      directory(),
    );
    expect(decidedAction(d).class.irreversible).toBe(true);
  });
});

describe('deciding with the catalog (policy laundering)', async () => {
  const point = new DecisionPoint({ engine: new CedarEngine(), clock, validityMs: 60_000 });
  await point.load(readPolicyFolder(EXAMPLES));

  it('denies a deletion asked as reversible exactly as one asked as irreversible', async () => {
    const asked = await point.decide(researcherFor(['repo:write']), DELETE_REPO, directory());
    expect(asked).toMatchObject({ decision: 'deny', determining: ['forbid-deep-irreversible'] });
    const laundered = await point.decide(
      researcherFor(['repo:write']),
      { ...DELETE_REPO, class: NONE, risk: 'low' },
      directory(),
    );
    expect(laundered).toMatchObject({
      decision: 'deny',
      determining: ['forbid-deep-irreversible'],
      catalog: 'known',
      single_use: true,
    });
    expect(laundered.request.context).toMatchObject({ irreversible: true, risk: 'critical' });
  });

  it('binds each decision to its credential and a validity window', async () => {
    const d = await point.decide(
      credential([ALICE, PLANNER], ['repo:read']),
      READ_FILE,
      directory(),
    );
    expect(d).toMatchObject({
      decision: 'allow',
      catalog: 'known',
      single_use: false,
      credential_jti: 'jti-2-repo:read',
      time: T0,
      valid_until: T0 + 60_000,
    });
  });

  it("marks an action the catalog does not know, decided on the caller's claim", async () => {
    const d = await point.decide(
      researcherFor(['repo:read']),
      { name: 'payments.refund', resource: 'invoice:1', class: { ...NONE, privileged: true } },
      directory(),
    );
    expect(d).toMatchObject({ catalog: 'unknown', single_use: true });
  });

  it('denies an action on a resource outside its catalog pattern without asking the engine', async () => {
    const d = await point.decide(
      credential([ALICE, PLANNER], ['repo:read']),
      { ...READ_FILE, resource: 'bucket:acme' },
      directory(),
    );
    expect(d).toMatchObject({
      decision: 'deny',
      reason: 'resource_outside_catalog',
      determining: [],
    });
    expect(d.errors[0]).toContain('"repo:*"');
  });

  it('refuses a validity that is not a positive duration', () => {
    expect(() => new DecisionPoint({ engine: new CedarEngine(), validityMs: 0 })).toThrow(
      TypeError,
    );
  });
});
