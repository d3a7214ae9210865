// A C2SP tlog-witness server on node:http: `POST /add-checkpoint` (the spec's one endpoint,
// relative to the witness URL), plus `GET /key` with the witness's verifier key. Answers:
//   200 text/plain: the cosignature line(s)
//   409 text/x.tlog.size: the size of the checkpoint the witness last cosigned for that log
//   400/403/404/422 JSON `{ "error": { "code", "message" } }` with the codes of docs/errors.md
//   (`malformed_add_checkpoint`, `log_signature_invalid`, `unknown_log`,
//   `consistency_proof_failed`); the spec fixes only the status codes.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  MAX_ADD_CHECKPOINT_BYTES,
  Witness,
  cosignerVerifierKeyString,
  parseVerifierKey,
} from '@provenant/ledger';
import type { CosignerKey, NoteVerifierKey, WitnessStateStore } from '@provenant/ledger';
import { wireError } from '../errors.js';
import type { WireErrorCode } from '../errors.js';
import { loadOrCreateWitnessKey } from './keyfile.js';
import { FileWitnessStore } from './store.js';

export interface WitnessServerConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /** `<origin>=<log verifier key>` or a bare verifier key (origin = its key name). */
  readonly logs: readonly string[];
  /** Name of a new witness key; an existing key keeps its own. */
  readonly name?: string;
  /** Unix seconds; default the system clock. */
  readonly now?: () => number;
}

export interface RunningWitness {
  readonly url: string;
  readonly name: string;
  readonly verifierKey: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Parses `--log` values into origin -> verifier keys. */
export function parseWitnessLogs(specs: readonly string[]): Map<string, NoteVerifierKey[]> {
  const logs = new Map<string, NoteVerifierKey[]>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const plus = spec.indexOf('+');
    // `origin=key`: the `=` comes before the key's first `+` (base64 padding comes after).
    const [origin, keyText] =
      eq > 0 && (plus < 0 || eq < plus) ? [spec.slice(0, eq), spec.slice(eq + 1)] : [null, spec];
    const key = parseVerifierKey(keyText.trim());
    const name = origin ?? key.name;
    logs.set(name, [...(logs.get(name) ?? []), key]);
  }
  return logs;
}

export function witnessHandler(witness: Witness, verifierKey: string) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?', 1)[0];
    const fail = (code: WireErrorCode, message: string) => {
      const wire = wireError(code, message);
      response
        .writeHead(wire.status, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify(wire.body));
    };
    if (path === '/key' && request.method === 'GET') {
      response
        .writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
        .end(`${verifierKey}\n`);
      return;
    }
    if (path !== '/add-checkpoint') return fail('not_found', 'No such witness route.');
    if (request.method !== 'POST') return fail('method_not_allowed', 'Use POST /add-checkpoint.');
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > MAX_ADD_CHECKPOINT_BYTES) {
        return fail('body_too_large', 'The add-checkpoint body is too large.');
      }
      chunks.push(chunk);
    }
    const result = await witness.addCheckpoint(new Uint8Array(Buffer.concat(chunks)));
    if (result.status === 200) {
      response
        .writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
        .end(result.cosignatures);
    } else if (result.status === 409) {
      response.writeHead(409, { 'content-type': 'text/x.tlog.size' }).end(`${result.size}\n`);
    } else {
      fail(result.code, result.reason);
    }
  };
}

/** Starts a witness: key and state in `dataDir`, cosigning the configured logs. */
export async function startWitness(config: WitnessServerConfig): Promise<RunningWitness> {
  const logs = parseWitnessLogs(config.logs);
  const key: CosignerKey = loadOrCreateWitnessKey(config.dataDir, config.name);
  const store: WitnessStateStore = new FileWitnessStore(config.dataDir);
  const witness = new Witness({ key, logs, store, ...(config.now ? { now: config.now } : {}) });
  const verifierKey = cosignerVerifierKeyString(key);
  const handle = witnessHandler(witness, verifierKey);
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        const wire = wireError('internal_error', 'The witness hit an unexpected error.');
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(wire.body));
      } else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}`,
    name: key.name,
    verifierKey,
    server,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      })),
  };
}
