import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ACTION_CLASSES,
  ACTION_CLASS_FLAGS,
  COVERAGE_CLASS_BIT,
  actionClassFlagList,
  COVERAGE_FLAG,
  MAX_RECORD_BYTES,
  actionClassesOf,
  bearerToken,
  coverageFacts,
  equalBytes,
  impliedKind,
  isActionName,
  isActionRecord,
  isGrantRecord,
  recordedKind,
  spiffeAgentParts,
} from '../src/vocabulary/index.js';
import { eventJsonSchema } from '../src/index.js';

describe('action names', () => {
  it('takes 1-128 letters, digits and _ . : -, as the decision point and the catalog do', () => {
    for (const ok of ['github.delete_repo', 'a', 'x:y-z_1.2', 'a'.repeat(128)]) {
      expect(isActionName(ok), ok).toBe(true);
    }
    for (const bad of ['', 'a'.repeat(129), 'mcp-servers/everything.echo', 'a b', 'é', 7]) {
      expect(isActionName(bad), String(bad)).toBe(false);
    }
  });
});

describe('record types', () => {
  it('tool.called and action.performed are actions whatever they carry', () => {
    expect(isActionRecord({ type: 'tool.called' })).toBe(true);
    expect(isActionRecord({ type: 'action.performed' })).toBe(true);
  });

  it('any other type with an action is an action, unless a witness wrote it', () => {
    expect(isActionRecord({ type: 'repo.deleted', action: {} })).toBe(true);
    expect(isActionRecord({ type: 'repo.deleted' })).toBe(false);
    for (const type of ['credential.issued', 'policy.decision', 'security.alert']) {
      expect(isActionRecord({ type, action: {} })).toBe(false);
    }
  });

  it('grants are credential.issued and delegation.granted only', () => {
    expect(isGrantRecord({ type: 'credential.issued' })).toBe(true);
    expect(isGrantRecord({ type: 'delegation.granted' })).toBe(true);
    expect(isGrantRecord({ type: 'credential.revoked' })).toBe(false);
  });

  it('the record schema takes exactly the class flags of the vocabulary', () => {
    const schema = eventJsonSchema() as {
      properties: { action: { properties: { class: { properties: object; required: string[] } } } };
    };
    const cls = schema.properties.action.properties.class;
    expect(Object.keys(cls.properties)).toEqual([...ACTION_CLASS_FLAGS]);
    expect(cls.required).toEqual([...ACTION_CLASS_FLAGS]);
    expect(ACTION_CLASSES).toEqual([...ACTION_CLASS_FLAGS, 'other']);
    expect(Object.keys(COVERAGE_CLASS_BIT)).toEqual([...ACTION_CLASS_FLAGS]);
    expect(actionClassFlagList('or')).toBe('privileged, irreversible or external');
  });

  it('an action with no class is in class other', () => {
    expect(actionClassesOf({ action: {} })).toEqual(['other']);
    expect(actionClassesOf({ action: { class: { privileged: true, external: true } } })).toEqual([
      'privileged',
      'external',
    ]);
    expect(ACTION_CLASSES).toEqual(['privileged', 'irreversible', 'external', 'other']);
  });
});

describe('coverage facts', () => {
  it('flags an action by class and decision, with its instance', () => {
    const facts = coverageFacts({
      type: 'tool.called',
      action: { class: { privileged: true, irreversible: true } },
      actor: { instance: 'i-1' },
      policy: { decision_id: 'd' },
    });
    const F = COVERAGE_FLAG;
    expect(facts).toEqual({
      flags: F.action | F.privileged | F.irreversible | F.decision,
      lifetimeSec: null,
      instance: 'i-1',
    });
  });

  it('measures a grant lifetime and never counts it as an action', () => {
    const facts = coverageFacts({
      type: 'credential.issued',
      action: { class: { privileged: true } },
      actor: { instance: 'i-1' },
      credential: { iat: 100, exp: 400 },
      attribution: { level: 'verified', reasons: ['issuer_witness'] },
    });
    expect(facts).toEqual({ flags: 0, lifetimeSec: 300, instance: null });
  });

  it('measures only the grants the issuer witnessed, never a forged one', () => {
    const grant = { type: 'credential.issued', credential: { iat: 100, exp: 90_000 } };
    for (const attribution of [
      undefined,
      { level: 'verified', reasons: ['no_credential'] },
      { level: 'asserted', reasons: ['issuer_witness'] },
    ]) {
      const facts = coverageFacts({ ...grant, ...(attribution ? { attribution } : {}) });
      expect(facts).toEqual({ flags: 0, lifetimeSec: null, instance: null });
    }
  });
});

describe('implied principal kind', () => {
  it.each([
    ['user:alice', 'human'],
    ['workflow:nightly', 'workflow'],
    ['service:gateway', 'service'],
    ['sa:deploy', 'service_account'],
    ['https://idp.example#alice', 'human'],
    ['spiffe://example.org/agent/planner/instance/7', 'agent_instance'],
    ['spiffe://example.org/agent/planner', 'agent'],
  ])('%s is %s', (id, kind) => {
    expect(impliedKind(id)).toBe(kind);
  });

  it('a SPIFFE id outside /agent/ or a foreign form implies nothing', () => {
    expect(impliedKind('spiffe://example.org/ns/prod/sa/web')).toBeUndefined();
    expect(impliedKind('spiffe://example.org/agent/a/instance/1/x')).toBeUndefined();
    expect(impliedKind('alice')).toBeUndefined();
  });

  it('the recorded kind prefers the registry, then the form, then agent — never a human by guess', () => {
    expect(recordedKind('spiffe://example.org/agent/a/instance/1', 'service')).toBe('service');
    expect(recordedKind('user:bob')).toBe('human');
    expect(recordedKind('spiffe://example.org/ns/prod/sa/web')).toBe('agent');
    expect(recordedKind('alice')).toBe('agent');
  });

  it('reads the agent name and instance of a SPIFFE agent id', () => {
    expect(spiffeAgentParts('spiffe://td/agent/planner/instance/7')).toEqual({
      agent: 'planner',
      instance: '7',
    });
    expect(spiffeAgentParts('spiffe://td/agent/planner')).toEqual({ agent: 'planner' });
    expect(spiffeAgentParts('user:alice')).toBeUndefined();
  });
});

describe('limits', () => {
  it('the published schema states the same record size limit ingest enforces', () => {
    expect(JSON.stringify(eventJsonSchema())).toContain(`at most ${MAX_RECORD_BYTES} bytes`);
  });
});

describe('byte equality', () => {
  it('compares length and every byte', () => {
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(equalBytes(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false);
  });
});

describe('bearer credentials', () => {
  it('reads a token68 credential, the scheme in any case', () => {
    expect(bearerToken('Bearer abc.def-_~+/==')).toBe('abc.def-_~+/==');
    expect(bearerToken('bearer abc')).toBe('abc');
  });

  it.each([
    [undefined],
    [''],
    ['Basic abc'],
    ['Bearer'],
    ['Bearer a b'],
    ['Bearer a,b'],
    ['Bearer\tabc'],
  ])('refuses %j', (header) => {
    expect(bearerToken(header)).toBeUndefined();
  });

  it('refuses a credential longer than the limit', () => {
    expect(bearerToken(`Bearer ${'a'.repeat(513)}`, 512)).toBeUndefined();
    expect(bearerToken(`Bearer ${'a'.repeat(512)}`, 512)).toHaveLength(512);
  });
});

describe('runtime neutrality', () => {
  it('the vocabulary entry loads no Node built-in and no zod', () => {
    const entry = fileURLToPath(new URL('../src/vocabulary/index.ts', import.meta.url));
    // Follow the entry's relative imports as text: any `node:` or bare import is a leak.
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `const fs=require('fs'),path=require('path');const seen=new Set();const bad=[];
         (function walk(f){if(seen.has(f))return;seen.add(f);const src=fs.readFileSync(f,'utf8');
          for(const m of src.matchAll(/(?:from|import)\\s*\\(?\\s*'([^']+)'/g)){const s=m[1];
            if(s.startsWith('.'))walk(path.resolve(path.dirname(f),s.replace(/\\.js$/,'.ts')));else bad.push(s);}})(${JSON.stringify(entry)});
         process.stdout.write(JSON.stringify(bad));`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
