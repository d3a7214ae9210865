import { describe, expect, it } from 'vitest';
import { exitCodeOfStatus } from '../src/lib/http.js';

describe('exit codes of HTTP answers', () => {
  it('makes input the collector refused a usage error (2), and what cannot be read 3', () => {
    for (const s of [400, 404, 409, 413, 422]) expect(exitCodeOfStatus(s), String(s)).toBe(2);
    for (const s of [401, 403, 429, 500, 503]) expect(exitCodeOfStatus(s), String(s)).toBe(3);
  });
});
