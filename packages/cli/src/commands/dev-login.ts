import { parseFlags, serverUrl } from '../lib/args.js';
import { usageError } from '../lib/errors.js';
import { postToken } from '../lib/oauth.js';
import type { CommandContext } from '../main.js';

export async function devLogin(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    server: { type: 'string' },
    scope: { type: 'string' },
  });
  const user = positionals[0];
  if (!user) throw usageError('dev-login needs a user name.');
  const answer = await postToken(serverUrl(values.server, ctx.env), {
    grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
    username: user,
    ...(values.scope ? { scope: values.scope } : {}),
  });
  ctx.err('warning: development sign-in; not for production\n');
  ctx.out(`${answer.access_token}\n`);
  return 0;
}
