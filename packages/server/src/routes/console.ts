import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { wireError } from '../errors.js';

/** packages/console/dist, from src/routes or dist/routes of the server package alike. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Provenant console</title></head>
<body><h1>Provenant console not built</h1>
<p>Run <code>npm run build</code> (or <code>npm run build -w @provenant/console</code>) and reload.</p>
</body></html>
`;

// The page runs no third-party code and loads nothing from elsewhere.
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/**
 * The web console (packages/console, built by Vite): `/` and `/assets/*` only, so no API route
 * (/v1, /tile, /checkpoint, /healthz) is shadowed. Files outside the dist folder are never read.
 */
export function consoleRoutes(app: FastifyInstance, distDir: string = CONSOLE_DIST): void {
  const root = resolve(distDir);
  const assets = join(root, 'assets');

  app.get('/', async (_request, reply) => {
    const index = join(root, 'index.html');
    const html = existsSync(index) ? await readFile(index) : NOT_BUILT;
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .send(html);
  });

  app.get('/assets/*', async (request, reply) => {
    const rel = (request.params as { '*': string })['*'];
    const file = resolve(assets, rel);
    const type = TYPES[extname(file).toLowerCase()];
    let body: Buffer | null = null;
    if (type && file.startsWith(assets + sep) && !rel.includes('\0')) {
      body = await readFile(file).catch(() => null);
    }
    if (body === null) {
      const wire = wireError('not_found', 'No such console asset.');
      return reply.code(wire.status).send(wire.body);
    }
    return reply
      .type(type!)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(body);
  });
}
