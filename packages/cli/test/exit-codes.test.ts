import { describe, expect, it } from 'vitest';
import { exitCodeOfStatus } from '../src/lib/http.js';
import { main } from '../src/main.js';

describe('exit codes of HTTP answers', () => {
  it('makes input the collector refused a usage error (2), and what cannot be read 3', () => {
    for (const s of [400, 404, 409, 413, 422]) expect(exitCodeOfStatus(s), String(s)).toBe(2);
    for (const s of [401, 403, 429, 500, 503]) expect(exitCodeOfStatus(s), String(s)).toBe(3);
  });
});

describe('a bad collector URL', () => {
  it('is a usage error naming where it came from', async () => {
    const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      let err = '';
      const code = await main(argv, { env, out: () => undefined, err: (t) => (err += t) });
      return { code, err };
    };
    expect(await run(['login', '--collector', 'notaurl'])).toEqual({
      code: 2,
      err: 'provenant login: --collector must be an http(s) URL; got "notaurl".\n',
    });
    expect(await run(['events'], { PROVENANT_URL: 'ftp://x' })).toMatchObject({
      code: 2,
      err: expect.stringContaining('$PROVENANT_URL must be an http(s) URL'),
    });
  });
});
