import { isProvenantError } from '@provenant/core';
import { events, eventsHelp } from './commands/events.js';
import { exportCommand, exportHelp } from './commands/export.js';
import { serve, serveHelp } from './commands/serve.js';
import { verify, verifyHelp } from './commands/verify.js';
import { devLogin, devLoginHelp } from './commands/dev-login.js';
import { principals, principalsHelp } from './commands/principals.js';
import { token, tokenHelp } from './commands/token.js';
import { explainDecision, explainHelp, policy, policyHelp } from './commands/decisions.js';
import { explain, explainCommandHelp } from './commands/explain.js';
import { evidence, evidenceHelp } from './commands/evidence.js';
import { trace, traceHelp } from './commands/trace.js';
import { coverage, coverageHelp } from './commands/coverage.js';
import { mcpProxy, mcpProxyHelp } from './commands/mcp-proxy.js';
import { witness, witnessHelp } from './commands/witness.js';
import { CliError, EXIT } from './lib/errors.js';

export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  out(text: string): void;
  err(text: string): void;
}

type Command = (args: readonly string[], ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  serve: { run: serve, help: serveHelp },
  verify: { run: verify, help: verifyHelp },
  events: { run: events, help: eventsHelp },
  export: { run: exportCommand, help: exportHelp },
  principals: { run: principals, help: principalsHelp },
  token: { run: token, help: tokenHelp },
  'dev-login': { run: devLogin, help: devLoginHelp },
  'explain-decision': { run: explainDecision, help: explainHelp },
  policy: { run: policy, help: policyHelp },
  explain: { run: explain, help: explainCommandHelp },
  evidence: { run: evidence, help: evidenceHelp },
  trace: { run: trace, help: traceHelp },
  coverage: { run: coverage, help: coverageHelp },
  'mcp-proxy': { run: mcpProxy, help: mcpProxyHelp },
  witness: { run: witness, help: witnessHelp },
};

export const USAGE = `provenant <command> [options]

Commands:
  serve     run the collector (embedded SQLite ledger, or PostgreSQL with --postgres)
  verify    check a whole log offline, without trusting the server
  events    query records
  export    write records as JSONL or OCSF, or send them as OTLP spans
  principals  register, list and disable principals (admin)
  token     get, exchange (RFC 8693) and decode credentials
  dev-login sign in as a user through the development issuer (development only)
  explain-decision  replay a recorded policy decision, and show drift against the current set
  policy    test a request against a Cedar policy folder
  mcp-proxy put attribution, policy and audit in front of any MCP server (stdio or HTTP)
  explain   the chain of responsibility of one action, with every check
  evidence  write an action's evidence bundle (verify it with verify --bundle)
  trace     every record of a trace as a causal tree
  coverage  attribution coverage report (text, JSON, HTML)
  witness   run a C2SP tlog-witness that cosigns a log's checkpoints

Run "provenant <command> --help" for a command's options.
Exit codes: 0 ok, 1 verification failed, 2 usage error, 3 log or server unavailable.`;

/** Runs the CLI; returns the process exit code. Never throws. */
export async function main(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ctx.out(`${USAGE}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    ctx.err(`provenant: unknown command "${name}".\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(`${command.help}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, ctx);
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
