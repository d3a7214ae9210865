import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { parseFlags, serverUrl } from '../lib/args.js';
import { CliError, EXIT, usageError } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import { clientAssertion, readIdentityFile } from '../lib/keyfile.js';
import { postToken, tokenEndpoint } from '../lib/oauth.js';
import type { CommandContext } from '../main.js';

export async function token(args: readonly string[], ctx: CommandContext): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseFlags(rest, {
    server: { type: 'string' },
    key: { type: 'string' },
    scope: { type: 'string' },
    'subject-token': { type: 'string' },
    lifetime: { type: 'string' },
    json: { type: 'boolean' },
  });
  const base = serverUrl(values.server, ctx.env);
  if (sub === 'get' || sub === 'exchange') {
    if (!values.key) throw usageError(`token ${sub} needs --key (an identity file).`);
    const identity = readIdentityFile(values.key);
    const assertion = await clientAssertion(identity, await tokenEndpoint(base));
    const scope = values.scope ? { scope: values.scope } : {};
    const answer =
      sub === 'get'
        ? await postToken(base, {
            grant_type: 'client_credentials',
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: assertion,
            ...scope,
          })
        : await postToken(base, {
            grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
            subject_token: required(values['subject-token'], '--subject-token'),
            subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
            actor_token: assertion,
            actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
            ...scope,
            ...(values.lifetime ? { requested_lifetime: values.lifetime } : {}),
          });
    ctx.out(`${answer.access_token}\n`);
    return 0;
  }
  if (sub === 'decode') {
    const jwt = positionals[0];
    if (!jwt) throw usageError('token decode needs the token.');
    let header;
    let claims;
    try {
      header = decodeProtectedHeader(jwt);
      claims = decodeJwt(jwt);
    } catch {
      throw usageError('That is not a JWT.');
    }
    const meta = (await (
      await httpGet(`${base}/.well-known/oauth-authorization-server`, undefined, {
        fromInput: false,
      })
    ).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    const chain: string[] = [];
    for (
      let a = claims['act'] as { sub?: string; act?: unknown } | undefined, i = 0;
      a && i < 16;
      a = a.act as typeof a, i++
    ) {
      if (typeof a.sub === 'string') chain.push(a.sub);
    }
    try {
      await jwtVerify(jwt, createRemoteJWKSet(new URL(meta.jwks_uri)), {
        issuer: meta.issuer,
        audience: typeof claims.aud === 'string' ? claims.aud : undefined,
        algorithms: ['EdDSA', 'ES256'],
      });
    } catch (e) {
      ctx.err(`INVALID: ${(e as Error).message}\n`);
      return EXIT.verificationFailed;
    }
    if (values.json) ctx.out(`${JSON.stringify({ header, claims }, null, 2)}\n`);
    else {
      ctx.out(
        `VALID credential ${String(claims.jti)} from ${meta.issuer} (kid ${String(header.kid)})\n` +
          `  initiator: ${String(claims.sub)}\n` +
          `  chain:     ${[String(claims.sub), ...chain.reverse()].join(' → ')}\n` +
          `  scope:     ${String(claims['scope'] ?? '')}\n` +
          `  roles:     ${Array.isArray(claims['roles']) ? claims['roles'].join(', ') || '-' : '-'}\n` +
          `  window:    ${new Date(Number(claims.iat) * 1000).toISOString()} → ${new Date(Number(claims.exp) * 1000).toISOString()}\n`,
      );
    }
    return 0;
  }
  throw usageError('Use token get, exchange or decode.');
}

function required(v: string | undefined, name: string): string {
  if (!v) throw new CliError('usage', `${name} is required.`, EXIT.usage);
  return v;
}
