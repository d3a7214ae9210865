import { readFileSync } from 'node:fs';
import { agentInstanceId } from '@provenant/identity';
import type { JWK } from 'jose';
import { parseFlags, serverUrl } from '../lib/args.js';
import { adminRequest, adminToken } from '../lib/admin.js';
import { usageError } from '../lib/errors.js';
import { generateIdentityFile } from '../lib/keyfile.js';
import type { CommandContext } from '../main.js';

export async function principals(args: readonly string[], ctx: CommandContext): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseFlags(rest, {
    server: { type: 'string' },
    'admin-token': { type: 'string' },
    data: { type: 'string' },
    kind: { type: 'string' },
    id: { type: 'string' },
    'trust-domain': { type: 'string' },
    agent: { type: 'string' },
    instance: { type: 'string' },
    'agent-ref': { type: 'string' },
    name: { type: 'string' },
    shared: { type: 'boolean' },
    'may-act': { type: 'string' },
    'generate-key': { type: 'string' },
    'public-key': { type: 'string' },
    scopes: { type: 'string' },
    json: { type: 'boolean' },
  });
  const base = serverUrl(values.server, ctx.env);
  const token = adminToken(values['admin-token'], values.data, ctx.env);
  if (sub === 'list') {
    const { principals } = (await adminRequest(`${base}/v1/principals`, token)) as {
      principals: {
        id: string;
        kind: string;
        disabled: boolean;
        shared: boolean;
        roles?: string[];
        scopes?: string[];
      }[];
    };
    if (values.json) ctx.out(`${JSON.stringify(principals, null, 2)}\n`);
    else {
      for (const p of principals) {
        const roles = p.roles === undefined ? '(kind default)' : p.roles.join(',') || '-';
        const ceiling = p.scopes === undefined ? '' : `  scopes: ${p.scopes.join(' ') || '-'}`;
        ctx.out(
          `${p.kind.padEnd(16)} ${p.disabled ? 'disabled' : 'enabled '} ${p.shared ? 'shared ' : '       '} ${p.id}  roles: ${roles}${ceiling}\n`,
        );
      }
    }
    return 0;
  }
  if (sub === 'grant' || sub === 'revoke') {
    const [id, role] = positionals;
    if (!id || !role) throw usageError(`principals ${sub} needs the principal id and a role.`);
    const answer = (await adminRequest(`${base}/v1/principals/roles/${sub}`, token, {
      id,
      role,
    })) as { roles: string[]; changed: boolean };
    const verb = sub === 'grant' ? 'granted' : 'revoked';
    ctx.out(
      `${answer.changed ? verb : `unchanged (already ${verb})`} ${role} ${id}: roles ${answer.roles.join(',') || '-'}\n`,
    );
    return 0;
  }
  if (sub === 'ceiling') {
    const [id, scopes] = positionals;
    if (!id || scopes === undefined) {
      throw usageError('principals ceiling needs the principal id and the scopes ("" for none).');
    }
    const answer = (await adminRequest(`${base}/v1/principals/scopes`, token, {
      id,
      scopes: scopeList(scopes),
    })) as { scopes: string[] };
    ctx.out(`scope ceiling of ${id}: ${answer.scopes.join(' ') || '-'}\n`);
    return 0;
  }
  if (sub === 'disable') {
    const id = positionals[0];
    if (!id) throw usageError('principals disable needs the principal id.');
    await adminRequest(`${base}/v1/principals/disable`, token, { id });
    ctx.out(`disabled ${id}\n`);
    return 0;
  }
  if (sub !== 'add') {
    throw usageError('Use principals add, list, disable, grant, revoke or ceiling.');
  }
  if (!values.kind) throw usageError('principals add needs --kind.');
  let id = values.id;
  if (id === undefined) {
    if (!values['trust-domain'] || !values.agent || !values.instance) {
      throw usageError(
        'Give --id, or --trust-domain, --agent and --instance for an agent instance.',
      );
    }
    id = agentInstanceId(values['trust-domain'], values.agent, values.instance);
  }
  if (values['generate-key'] && values['public-key'])
    throw usageError('Give --generate-key or --public-key, not both.');
  let jwks: JWK[] | undefined;
  if (values['generate-key']) jwks = [await generateIdentityFile(values['generate-key'], id)];
  if (values['public-key']) {
    try {
      jwks = [JSON.parse(readFileSync(values['public-key'], 'utf8')) as JWK];
    } catch {
      throw usageError(`${values['public-key']} is not a JWK file.`);
    }
  }
  const principal = {
    id,
    kind: values.kind,
    shared: values.shared ?? false,
    disabled: false,
    ...(values.name ? { name: values.name } : {}),
    ...(values['agent-ref']
      ? { agent: values['agent-ref'] }
      : values.agent
        ? { agent: values.agent }
        : {}),
    ...(values['may-act'] ? { mayAct: values['may-act'].split(',') } : {}),
    ...(values.scopes === undefined ? {} : { scopes: scopeList(values.scopes) }),
    ...(jwks ? { publicJwks: jwks } : {}),
  };
  const stored = (await adminRequest(`${base}/v1/principals`, token, principal)) as {
    roles?: string[];
  };
  ctx.out(
    `registered ${values.kind} ${id}${values['generate-key'] ? ` (identity file ${values['generate-key']})` : ''}, roles: ${stored.roles?.join(',') || '-'}\n`,
  );
  return 0;
}

/** Space-separated scopes as a list ("" is none). */
function scopeList(scopes: string): string[] {
  return scopes.split(' ').filter((s) => s.length > 0);
}
