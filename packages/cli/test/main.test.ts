import { readFileSync } from 'node:fs';
import { DEFAULT_OTLP_ENDPOINT } from '@provenant/server/offline';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/commands.js';
import { EXIT, USAGE, main } from '../src/index.js';

function run(argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { env: {}, out: (t) => (out += t), err: (t) => (err += t) });
  return code.then((status) => ({ status, out, err }));
}

describe('provenant', () => {
  it('lists every command with its summary', async () => {
    const r = await run(['--help']);
    expect(r.status).toBe(EXIT.ok);
    for (const [name, c] of Object.entries(COMMANDS)) {
      expect(r.out).toMatch(new RegExp(`^  ${name} +${c.summary.replace(/[()]/g, '\\$&')}$`, 'm'));
    }
    expect((await run([])).status).toBe(EXIT.usage);
    expect(USAGE).toContain('provenant <command> [options]');
  });

  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      expect(await run([flag])).toEqual({
        status: EXIT.ok,
        out: `provenant ${pkg.version}\n`,
        err: '',
      });
    }
  });

  it('refuses an unknown command, including names an object has', async () => {
    for (const name of ['nope', 'constructor', 'toString', '__proto__']) {
      const r = await run([name]);
      expect(r.status).toBe(EXIT.usage);
      expect(r.err).toContain(`unknown command "${name}"`);
    }
  });

  it("prints a command's help without running it", async () => {
    const r = await run(['verify', '--bundle', '/nonexistent', '--help']);
    expect(r).toEqual({ status: EXIT.ok, out: `${COMMANDS['verify']!.help}\n`, err: '' });
  });

  it('loads a runnable function for every command', async () => {
    for (const [name, c] of Object.entries(COMMANDS)) {
      expect(typeof (await c.load()), name).toBe('function');
      expect(c.help, name).toMatch(new RegExp(`^provenant ${name}\\b`));
    }
  });

  it("names the OTLP exporter's default endpoint in export --help", () => {
    expect(COMMANDS['export']!.help).toContain(`(default ${DEFAULT_OTLP_ENDPOINT})`);
  });
});

describe('provenant verify', () => {
  it('refuses --witness with --bundle: a bundle carries no cosignature to check', async () => {
    const r = await run(['verify', '--bundle', 'b.json', '--key', 'k', '--witness', 'w']);
    expect(r.status).toBe(EXIT.usage);
    expect(r.err).toContain('--witness applies to a log');
  });
});
