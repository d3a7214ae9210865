import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyError, readPolicyFolder, watchPolicyFolder } from '../src/index.js';

const dirs: string[] = [];
function folder(files: Record<string, string | Uint8Array> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'provenant-folder-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function unreadable(dir: string): PolicyError {
  try {
    readPolicyFolder(dir);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    expect((e as PolicyError).code).toBe('policy_folder_unreadable');
    return e as PolicyError;
  }
  throw new Error('the folder was read');
}

describe('readPolicyFolder', () => {
  it('reads the *.cedar files sorted by name, and the schema', () => {
    const dir = folder({
      'b.cedar': 'B',
      'a.cedar': 'A',
      'schema.cedarschema': 'S',
      'README.md': 'not a policy',
    });
    mkdirSync(join(dir, 'nested.cedar'));
    expect(readPolicyFolder(dir)).toEqual({
      files: [
        { name: 'a.cedar', text: 'A' },
        { name: 'b.cedar', text: 'B' },
      ],
      schema: 'S',
    });
  });

  it('leaves the schema out when there is none', () => {
    expect(readPolicyFolder(folder({ 'a.cedar': 'A' }))).toEqual({
      files: [{ name: 'a.cedar', text: 'A' }],
    });
  });

  it('refuses a folder that does not exist or is a file', () => {
    expect(unreadable('/nonexistent/provenant-policies').message).toContain('does not exist');
    const dir = folder({ 'a.cedar': 'A' });
    expect(unreadable(join(dir, 'a.cedar')).message).toContain('is not a folder');
  });

  it('refuses a file that is not UTF-8', () => {
    const dir = folder({ 'a.cedar': new Uint8Array([0x70, 0xff, 0xfe]) });
    expect(unreadable(dir).message).toMatch(/a\.cedar cannot be read: it is not valid UTF-8/);
  });

  it('refuses a schema under another name rather than ignore it', () => {
    const dir = folder({ 'a.cedar': 'A', 'policies.cedarschema': 'S' });
    expect(unreadable(dir).message).toContain('the schema must be named schema.cedarschema');
  });
});

describe('watchPolicyFolder', () => {
  it('calls back once per burst of changes, and never after stop', async () => {
    const dir = folder({ 'a.cedar': 'A' });
    let calls = 0;
    const stop = watchPolicyFolder(dir, () => (calls += 1), { debounceMs: 50 });
    try {
      writeFileSync(join(dir, 'a.cedar'), 'A1');
      writeFileSync(join(dir, 'b.cedar'), 'B');
      writeFileSync(join(dir, 'a.cedar'), 'A2');
      await waitFor(() => calls > 0, 3000);
      await sleep(200);
      expect(calls).toBe(1);

      writeFileSync(join(dir, 'b.cedar'), 'B2');
      await waitFor(() => calls > 1, 3000);
    } finally {
      stop();
    }
    const after = calls;
    writeFileSync(join(dir, 'a.cedar'), 'A3');
    await sleep(200);
    expect(calls).toBe(after);
  });

  it('hands what the callback throws to onError and keeps watching', async () => {
    const dir = folder({ 'a.cedar': 'A' });
    const errors: string[] = [];
    let calls = 0;
    const stop = watchPolicyFolder(
      dir,
      () => {
        calls += 1;
        throw new PolicyError('invalid_policy_set', `refused ${calls}`);
      },
      { debounceMs: 20, onError: (e) => errors.push(e.message) },
    );
    try {
      writeFileSync(join(dir, 'a.cedar'), 'A1');
      await waitFor(() => errors.length === 1, 3000);
      await sleep(100);
      writeFileSync(join(dir, 'a.cedar'), 'A2');
      await waitFor(() => errors.length === 2, 3000);
      expect(errors).toEqual(['refused 1', 'refused 2']);
    } finally {
      stop();
    }
  });

  it('awaits an asynchronous callback, never runs two at once, and reports its rejection', async () => {
    const dir = folder({ 'a.cedar': 'A' });
    const errors: string[] = [];
    let calls = 0;
    let active = 0;
    let most = 0;
    let release: () => void = () => {};
    const stop = watchPolicyFolder(
      dir,
      async () => {
        calls += 1;
        active += 1;
        most = Math.max(most, active);
        await new Promise<void>((r) => (release = r));
        active -= 1;
        if (calls === 2) throw new PolicyError('invalid_policy_set', 'refused');
      },
      { debounceMs: 20, onError: (e) => errors.push(e.message) },
    );
    try {
      writeFileSync(join(dir, 'a.cedar'), 'A1');
      await waitFor(() => calls === 1, 3000);
      writeFileSync(join(dir, 'a.cedar'), 'A2'); // while the first call is still running
      await sleep(100);
      expect(calls).toBe(1);
      release();
      await waitFor(() => calls === 2, 3000); // run again for the change it missed
      release();
      await waitFor(() => errors.length === 1, 3000);
      expect(errors).toEqual(['refused']);
      expect(most).toBe(1);
    } finally {
      stop();
    }
  });

  it('refuses to watch a folder that does not exist', () => {
    expect(() => watchPolicyFolder('/nonexistent/provenant-policies', () => {})).toThrow(
      expect.objectContaining({ code: 'policy_folder_unreadable' }),
    );
  });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error('timed out');
    await sleep(10);
  }
}
