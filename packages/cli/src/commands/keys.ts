import { parseFlags, serverUrl } from '../lib/args.js';
import { adminRequest, adminToken } from '../lib/admin.js';
import { usageError } from '../lib/errors.js';
import type { CommandContext } from '../main.js';

/** `provenant keys rotate [--retire-now]`: rotates the collector's issuer key (admin). */
export async function keys(args: readonly string[], ctx: CommandContext): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseFlags(rest, {
    server: { type: 'string' },
    'admin-token': { type: 'string' },
    data: { type: 'string' },
    'retire-now': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (sub !== 'rotate') throw usageError('Use keys rotate [--retire-now].');
  const base = serverUrl(values.server, ctx.env);
  const token = adminToken(values['admin-token'], values.data, ctx.env);
  const answer = (await adminRequest(`${base}/v1/admin/keys/rotate`, token, {
    retire_now: values['retire-now'] ?? false,
  })) as { kid: string; retired: string[] };
  if (values.json) ctx.out(`${JSON.stringify(answer)}\n`);
  else {
    ctx.out(`issuer key ${answer.kid}\n`);
    for (const kid of answer.retired) ctx.out(`retired now and deleted: ${kid}\n`);
  }
  return 0;
}
