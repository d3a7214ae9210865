import { describe, expect, it } from 'vitest';
import { MemoryPrincipalDirectory } from '@provenant/identity';
import { buildDecisionRequest, type CedarEntity } from '../src/index.js';
import {
  ALICE,
  CI,
  NIGHTLY,
  PLANNER,
  READ_FILE,
  RESEARCHER,
  T0,
  credential,
  directory,
  researcherFor,
} from './helpers.js';

const entity = (entities: CedarEntity[], id: string): CedarEntity | undefined =>
  entities.find((e) => e.uid.id === id);

describe('buildDecisionRequest', () => {
  it('makes the acting agent instance the principal, in its agent and its initiator', () => {
    const req = buildDecisionRequest(researcherFor(['repo:read']), READ_FILE, directory(), T0);
    expect(req.principal).toEqual({ type: 'Provenant::AgentInstance', id: RESEARCHER });
    expect(req.action).toEqual({ type: 'Provenant::Action', id: 'github.get_file' });
    expect(req.resource).toEqual({ type: 'Provenant::Resource', id: 'repo:acme/payments' });
    expect(entity(req.entities, RESEARCHER)).toEqual({
      uid: req.principal,
      attrs: {},
      parents: [
        { type: 'Provenant::Agent', id: 'researcher@2' },
        { type: 'Provenant::User', id: ALICE },
      ],
    });
    expect(entity(req.entities, 'researcher@2')?.parents).toEqual([
      { type: 'Provenant::Agent', id: 'researcher' },
    ]);
    expect(entity(req.entities, 'researcher')).toBeDefined();
    expect(entity(req.entities, ALICE)?.uid.type).toBe('Provenant::User');
    expect(entity(req.entities, 'repo:acme/payments')?.attrs).toEqual({
      name: 'repo:acme/payments',
    });
    // Every entity once.
    const keys = req.entities.map((e) => `${e.uid.type}/${e.uid.id}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('puts the verified chain, scopes and action class into the context', () => {
    const req = buildDecisionRequest(
      credential([ALICE, PLANNER, RESEARCHER], ['repo:read', 'repo:write'], {
        task_id: 'task-981',
      }),
      { ...READ_FILE, taskId: 'task-claimed-by-caller' },
      directory(),
      T0 + 999,
    );
    expect(req.context).toEqual({
      initiator: ALICE,
      initiator_kind: 'human',
      delegation_depth: 2,
      chain: [ALICE, PLANNER, RESEARCHER],
      scopes: ['repo:read', 'repo:write'],
      privileged: false,
      irreversible: false,
      external: false,
      risk: 'low',
      task_id: 'task-981',
      time: Math.floor(T0 / 1000),
    });
  });

  it('never takes identity from claims a record could carry: only the verified credential counts', () => {
    const verified = researcherFor(['repo:read']);
    // What a record (or the agent) might claim is not an input at all: the action input has no
    // identity fields, and extra ones are ignored.
    const claimed = {
      ...READ_FILE,
      initiator: { id: 'user:mallory', kind: 'human' },
      delegation: [{ from: 'user:mallory', to: RESEARCHER }],
      actor: { id: PLANNER },
    } as typeof READ_FILE;
    const req = buildDecisionRequest(verified, claimed, directory(), T0);
    expect(req.principal.id).toBe(RESEARCHER);
    expect(req.context['initiator']).toBe(ALICE);
    expect(req.context['chain']).toEqual(verified.chain);
    expect(JSON.stringify(req)).not.toContain('mallory');
  });

  it('uses the task the caller names only when the credential names none', () => {
    const req = buildDecisionRequest(
      researcherFor([]),
      { ...READ_FILE, taskId: 't-1' },
      directory(),
      T0,
    );
    expect(req.context['task_id']).toBe('t-1');
    const bare = buildDecisionRequest(
      researcherFor([]),
      { name: 'x', resource: 'y' },
      directory(),
      T0,
    );
    expect(bare.context).not.toHaveProperty('task_id');
    expect(bare.context).not.toHaveProperty('risk');
    expect(bare.context).toMatchObject({ privileged: false, irreversible: false, external: false });
  });

  it('makes a principal acting for itself the principal and the initiator, with no parents', () => {
    const req = buildDecisionRequest(
      credential([ALICE], ['repo:read']),
      READ_FILE,
      directory(),
      T0,
    );
    expect(req.principal).toEqual({ type: 'Provenant::User', id: ALICE });
    expect(req.context).toMatchObject({ initiator: ALICE, delegation_depth: 0, chain: [ALICE] });
    expect(req.entities.filter((e) => e.uid.id === ALICE)).toEqual([
      { uid: req.principal, attrs: {}, parents: [] },
    ]);
  });

  it('marks a shared service account as shared, and types workflows and unknown principals', () => {
    const req = buildDecisionRequest(credential([NIGHTLY, CI], []), READ_FILE, directory(), T0);
    expect(entity(req.entities, CI)).toEqual({
      uid: { type: 'Provenant::ServiceAccount', id: CI },
      attrs: { shared: true },
      parents: [{ type: 'Provenant::Workflow', id: NIGHTLY }],
    });
    expect(req.context['initiator_kind']).toBe('workflow');

    const odd = 'spiffe://acme.test/ns/prod/sa/builder';
    const unknown = buildDecisionRequest(
      credential([odd], []),
      READ_FILE,
      new MemoryPrincipalDirectory(),
      T0,
    );
    expect(unknown.principal).toEqual({ type: 'Provenant::UnknownPrincipal', id: odd });
    expect(unknown.context['initiator_kind']).toBe('unknown');
  });

  it("takes an unregistered agent instance's agent from its SPIFFE id", () => {
    const req = buildDecisionRequest(
      credential([ALICE, RESEARCHER], []),
      READ_FILE,
      new MemoryPrincipalDirectory(),
      T0,
    );
    expect(entity(req.entities, RESEARCHER)?.parents).toEqual([
      { type: 'Provenant::Agent', id: 'researcher' },
      { type: 'Provenant::User', id: ALICE },
    ]);
  });

  it('refuses an action without a name or resource', () => {
    expect(() =>
      buildDecisionRequest(researcherFor([]), { name: '', resource: 'r' }, directory(), T0),
    ).toThrow(TypeError);
    expect(() =>
      buildDecisionRequest(researcherFor([]), { name: 'a', resource: '' }, directory(), T0),
    ).toThrow(TypeError);
  });
});
