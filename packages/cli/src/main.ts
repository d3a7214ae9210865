import { readFileSync } from 'node:fs';
import { isProvenantError } from '@provenant/core/errors';
import { COMMANDS } from './commands.js';
import { CliError, EXIT } from './lib/errors.js';

export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  out(text: string): void;
  err(text: string): void;
}

const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;

export const USAGE = `provenant <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`)
  .join('\n')}

Run "provenant <command> --help" for a command's options, "provenant --version" for the version.
Exit codes: 0 ok, 1 a check failed, 2 usage error (a bad flag, or input the collector refused
as wrong), 3 the log, a file or the server could not be read.`;

/** The version of this package (read once, when asked). */
export function version(): string {
  // ../package.json from src/main.ts and from dist/main.js alike.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Runs the CLI; returns the process exit code. Never throws. */
export async function main(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ctx.out(`${USAGE}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    ctx.out(`provenant ${version()}\n`);
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    ctx.err(`provenant: unknown command "${name}".\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(`${command.help}\n`);
    return EXIT.ok;
  }
  try {
    const run = await command.load();
    return await run(rest, ctx);
  } catch (e) {
    if (e instanceof CliError) {
      ctx.err(`provenant ${name}: ${e.message}\n`);
      return e.exitCode;
    }
    if (isProvenantError(e)) {
      ctx.err(`provenant ${name}: ${e.code}: ${e.message}\n`);
      return EXIT.unavailable;
    }
    ctx.err(`provenant ${name}: unexpected error: ${(e as Error).message}\n`);
    return EXIT.unavailable;
  }
}
