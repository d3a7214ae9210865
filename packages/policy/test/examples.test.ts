import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MemoryPrincipalDirectory } from '@provenant/identity';
import { describe, expect, it } from 'vitest';
import {
  CedarEngine,
  buildDecisionRequest,
  readPolicyFolder,
  type ActionInput,
  type EngineDecision,
} from '../src/index.js';
import type { VerifiedCredential } from '@provenant/identity';
import {
  ALICE,
  CI,
  DELETE_REPO,
  EXAMPLES,
  NIGHTLY,
  PLANNER,
  POST_MESSAGE,
  READ_FILE,
  RESEARCHER,
  T0,
  credential,
  directory,
  researcherFor,
} from './helpers.js';

const engine = new CedarEngine();
const set = await engine.load(readPolicyFolder(EXAMPLES));

async function decide(
  cred: VerifiedCredential,
  action: ActionInput,
  dir: MemoryPrincipalDirectory = directory(),
): Promise<Pick<EngineDecision, 'decision' | 'determining'>> {
  const answer = await engine.evaluate(set, buildDecisionRequest(cred, action, dir, T0));
  expect(answer.errors).toEqual([]);
  return { decision: answer.decision, determining: answer.determining };
}

describe('examples/policies', () => {
  it('loads and validates against its schema with no warnings', async () => {
    const source = readPolicyFolder(EXAMPLES);
    expect(source.schema).toBeDefined();
    expect(set.policyIds).toEqual([
      'permit-human-delegated-reads',
      'permit-human-delegated-writes',
      'permit-human-delegated-messages',
      'permit-researcher-github-reads',
      'forbid-deep-irreversible',
      'forbid-pooled-external',
    ]);
    expect(set.warnings).toBeUndefined();
  });

  it('documents every policy in its README', async () => {
    const readme = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');
    for (const id of set.policyIds) expect(readme).toContain(`\`${id}\``);
  });

  it("allows the researcher's reads for alice", async () => {
    expect(await decide(researcherFor(['repo:read']), READ_FILE)).toEqual({
      decision: 'allow',
      determining: ['permit-human-delegated-reads', 'permit-researcher-github-reads'],
    });
  });

  it("allows the researcher's acme reads for a scheduled workflow, and nobody else's", async () => {
    const forWorkflow = credential([NIGHTLY, RESEARCHER], ['repo:read']);
    expect(await decide(forWorkflow, READ_FILE)).toEqual({
      decision: 'allow',
      determining: ['permit-researcher-github-reads'],
    });
    expect(
      (await decide(forWorkflow, { ...READ_FILE, resource: 'repo:other/thing' })).decision,
    ).toBe('deny');
    expect(await decide(credential([NIGHTLY, PLANNER], ['repo:read']), READ_FILE)).toEqual({
      decision: 'deny',
      determining: [],
    });
  });

  it('denies an irreversible action two hops from alice unless she granted repo:admin', async () => {
    expect(await decide(researcherFor(['repo:write']), DELETE_REPO)).toEqual({
      decision: 'deny',
      determining: ['forbid-deep-irreversible'],
    });
    expect(await decide(researcherFor(['repo:write', 'repo:admin']), DELETE_REPO)).toEqual({
      decision: 'allow',
      determining: ['permit-human-delegated-writes'],
    });
    // One hop (alice → planner) is not deep.
    expect(await decide(credential([ALICE, PLANNER], ['repo:write']), DELETE_REPO)).toEqual({
      decision: 'allow',
      determining: ['permit-human-delegated-writes'],
    });
  });

  it('denies a pooled service account acting on an external system', async () => {
    const viaPool = credential([ALICE, CI], ['chat:write']);
    expect(await decide(viaPool, POST_MESSAGE)).toEqual({
      decision: 'deny',
      determining: ['forbid-pooled-external'],
    });
    const dedicated = directory();
    dedicated.put({ id: CI, kind: 'service_account', shared: false, disabled: false });
    expect(await decide(viaPool, POST_MESSAGE, dedicated)).toEqual({
      decision: 'allow',
      determining: ['permit-human-delegated-messages'],
    });
  });

  it('lets policies name an agent with or without its version, and the human behind a chain', async () => {
    const extra = {
      ...readPolicyFolder(EXAMPLES),
    };
    extra.files = [
      ...extra.files,
      {
        name: 'zz-test.cedar',
        text:
          '@id("versioned") forbid (principal in Provenant::Agent::"researcher@2", action, resource)' +
          ' when { context has risk && context.risk == "high" };\n' +
          '@id("for-alice") forbid (principal in Provenant::User::"user:alice", action, resource)' +
          ' when { context has task_id && context.task_id == "t-forbidden" };',
      },
    ];
    const withExtra = await engine.load(extra);
    const ask = (cred: VerifiedCredential, action: ActionInput) =>
      engine.evaluate(withExtra, buildDecisionRequest(cred, action, directory(), T0));
    expect(
      (await ask(researcherFor(['repo:read']), { ...READ_FILE, risk: 'high' })).determining,
    ).toEqual(['versioned']);
    expect(
      (
        await ask(
          credential([ALICE, PLANNER, RESEARCHER], ['repo:read'], { task_id: 't-forbidden' }),
          READ_FILE,
        )
      ).determining,
    ).toEqual(['for-alice']);
  });
});
