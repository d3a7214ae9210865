import { CliError, EXIT } from './errors.js';
import { httpGet } from './http.js';

export interface TokenAnswer {
  access_token: string;
  expires_in: number;
  scope: string;
}

/** The token endpoint from the server's RFC 8414 metadata (it is also the assertion audience). */
export async function tokenEndpoint(base: string): Promise<string> {
  const meta = (await (
    await httpGet(`${base}/.well-known/oauth-authorization-server`, undefined, { fromInput: false })
  ).json()) as {
    token_endpoint?: string;
  };
  if (typeof meta.token_endpoint !== 'string') {
    throw new CliError('server_error', 'The server publishes no token endpoint.', EXIT.unavailable);
  }
  return meta.token_endpoint;
}

/** POSTs a form to the token endpoint; OAuth errors become CLI errors naming the rule. */
export async function postToken(base: string, form: Record<string, string>): Promise<TokenAnswer> {
  let res: Response;
  try {
    res = await fetch(`${base}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new CliError(
      'server_unreachable',
      `Cannot reach ${base}: ${(e as Error).message}.`,
      EXIT.unavailable,
    );
  }
  const body = (await res.json().catch(() => ({}))) as Partial<TokenAnswer> & {
    error?: string;
    error_description?: string;
    provenant_code?: string;
  };
  if (!res.ok || typeof body.access_token !== 'string') {
    const code = body.provenant_code ? ` (${body.provenant_code})` : '';
    throw new CliError(
      'token_refused',
      `The issuer refused: ${body.error ?? `HTTP ${res.status}`}${code}: ${body.error_description ?? ''}`,
      EXIT.verificationFailed,
    );
  }
  return body as TokenAnswer;
}
