/**
 * Every command: its one-line summary and `--help` text (plain strings, cheap to load), and the
 * module that runs it, imported only when that command runs. `provenant verify --bundle` so never
 * loads the collector (fastify), the storage drivers, Cedar or the MCP SDK.
 */
import type { CommandContext } from './main.js';
import { coverageHelp } from './help/coverage.js';
import { devLoginHelp } from './help/dev-login.js';
import { digestCheckHelp } from './help/digest-check.js';
import { eventsHelp } from './help/events.js';
import { evidenceHelp } from './help/evidence.js';
import { explainDecisionHelp } from './help/explain-decision.js';
import { explainHelp } from './help/explain.js';
import { loginHelp, logoutHelp } from './help/login.js';
import { exportHelp } from './help/export.js';
import { keysHelp } from './help/keys.js';
import { mcpProxyHelp } from './help/mcp-proxy.js';
import { policyHelp } from './help/policy.js';
import { principalsHelp } from './help/principals.js';
import { serveHelp } from './help/serve.js';
import { tokenHelp } from './help/token.js';
import { traceHelp } from './help/trace.js';
import { verifyHelp } from './help/verify.js';
import { witnessHelp } from './help/witness.js';

export type Command = (args: readonly string[], ctx: CommandContext) => Promise<number>;

export interface CommandEntry {
  /** One line of the command list in `provenant --help`. */
  readonly summary: string;
  /** `provenant <command> --help`. */
  readonly help: string;
  /** Imports the command's module. */
  load(): Promise<Command>;
}

/** In the order `provenant --help` lists them. */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  serve: {
    summary: 'run the collector (embedded SQLite ledger, or PostgreSQL with --postgres)',
    help: serveHelp,
    load: async () => (await import('./commands/serve.js')).serve,
  },
  verify: {
    summary: 'check a whole log offline, without trusting the server',
    help: verifyHelp,
    load: async () => (await import('./commands/verify.js')).verify,
  },
  events: {
    summary: 'query records',
    help: eventsHelp,
    load: async () => (await import('./commands/events.js')).events,
  },
  export: {
    summary: 'write records as JSONL or OCSF, or send them as OTLP spans',
    help: exportHelp,
    load: async () => (await import('./commands/export.js')).exportCommand,
  },
  principals: {
    summary: 'register, list and disable principals; grant roles, set scope ceilings (admin)',
    help: principalsHelp,
    load: async () => (await import('./commands/principals.js')).principals,
  },
  keys: {
    summary: "rotate the issuer's signing key; --retire-now for a leaked one (admin)",
    help: keysHelp,
    load: async () => (await import('./commands/keys.js')).keys,
  },
  token: {
    summary: 'get, exchange (RFC 8693) and decode credentials',
    help: tokenHelp,
    load: async () => (await import('./commands/token.js')).token,
  },
  login: {
    summary: "sign in through the collector's identity provider and store the credential",
    help: loginHelp,
    load: async () => (await import('./commands/login.js')).login,
  },
  logout: {
    summary: 'forget and revoke the stored credential for a collector',
    help: logoutHelp,
    load: async () => (await import('./commands/login.js')).logout,
  },
  'dev-login': {
    summary: 'sign in as a user through the development issuer (development only)',
    help: devLoginHelp,
    load: async () => (await import('./commands/dev-login.js')).devLogin,
  },
  'explain-decision': {
    summary: 'replay a recorded policy decision, and show drift against the current set',
    help: explainDecisionHelp,
    load: async () => (await import('./commands/decisions.js')).explainDecision,
  },
  policy: {
    summary: 'test a request against a Cedar policy folder',
    help: policyHelp,
    load: async () => (await import('./commands/decisions.js')).policy,
  },
  'mcp-proxy': {
    summary: 'put attribution, policy and audit in front of any MCP server (stdio or HTTP)',
    help: mcpProxyHelp,
    load: async () => (await import('./commands/mcp-proxy.js')).mcpProxy,
  },
  explain: {
    summary: 'the chain of responsibility of one action, with every check',
    help: explainHelp,
    load: async () => (await import('./commands/explain.js')).explain,
  },
  evidence: {
    summary: "write an action's evidence bundle (verify it with verify --bundle)",
    help: evidenceHelp,
    load: async () => (await import('./commands/evidence.js')).evidence,
  },
  'digest-check': {
    summary: "test a known value against a record's keyed digests (holder of the deployment key)",
    help: digestCheckHelp,
    load: async () => (await import('./commands/digest-check.js')).digestCheck,
  },
  trace: {
    summary: 'every record of a trace as a causal tree',
    help: traceHelp,
    load: async () => (await import('./commands/trace.js')).trace,
  },
  coverage: {
    summary: 'attribution coverage report (text, JSON, HTML)',
    help: coverageHelp,
    load: async () => (await import('./commands/coverage.js')).coverage,
  },
  witness: {
    summary: "run a C2SP tlog-witness that cosigns a log's checkpoints",
    help: witnessHelp,
    load: async () => (await import('./commands/witness.js')).witness,
  },
};
