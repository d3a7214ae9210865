import { parseFlags, serverUrl } from '../lib/args.js';
import { usageError } from '../lib/errors.js';
import { postToken } from '../lib/oauth.js';
import type { CommandContext } from '../main.js';

export const devLoginHelp = `provenant dev-login USER [--scope "a b"] [--server URL]

DEVELOPMENT ONLY: signs in as user:USER through the collector's development issuer (enabled
with "provenant serve --dev-login") and prints the credential. Production deployments sign
humans in with an ID token from their OIDC provider instead.`;

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
