import Fastify, { LogController } from 'fastify';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { CollectorContext } from './context.js';
import { wireError } from './errors.js';
import { answerError } from './error-reply.js';
import { eventRoutes } from './routes/events.js';
import { logRoutes } from './routes/log.js';
import { decisionRoutes } from './routes/decisions.js';
import { authzenRoutes } from './routes/authzen.js';
import { principalRoutes } from './routes/principals.js';
import { tokenRoutes } from './routes/token.js';
import { investigateRoutes } from './routes/investigate.js';
import { exportRoutes } from './routes/export.js';
import { otlpRoutes } from './routes/otlp.js';
import { closeWithoutWaitingOnClients } from './shutdown.js';
import { consoleRoutes } from './routes/console.js';
import { signInRoutes } from './routes/signin.js';
import { loopbackRule } from '@provenant/core/vocabulary';
import type { HostRule } from '@provenant/core/vocabulary';
import { Admission } from './transport/admission.js';
import { transportGuards } from './transport/guards.js';
import { sessionRoutes } from './routes/session.js';
import { installAccessControl } from './access/control.js';
import { satisfies } from './access/roles.js';
import { MemorySessionStore, installSessionStore } from './access/sessions.js';

export interface BuildAppOptions {
  /** Fastify's logger option (pino); false for none. */
  readonly logger?: FastifyServerOptions['logger'];
  /** The Host and Origin headers answered; default the loopback names on any port. */
  readonly hosts?: HostRule;
  /** Serve HTTPS with this PEM certificate (chain) and key, with HSTS on every answer. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
}

/** The collector's HTTP app, without listening: tests drive it with `app.inject()`. */
export function buildApp(ctx: CollectorContext, options: BuildAppOptions = {}): FastifyInstance {
  const { limits } = ctx;
  const serverOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks the two timeouts above every 30 s by default: a slow-loris gets that long.
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyLimit,
    // No per-request log lines: they cost more than ingesting a record, and could echo input.
    logController: new LogController({ disableRequestLogging: true }),
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    routerOptions: { maxParamLength: 500 },
    ...(options.tls
      ? { https: { ...serverOptions, cert: options.tls.cert, key: options.tls.key } }
      : { http: serverOptions }),
    // The https server is an http.Server with TLS below it; the app's types stay one.
  }) as unknown as FastifyInstance;
  app.server.maxConnections = limits.maxConnections;
  const admission = new Admission(limits);

  // The hooks every request passes, in this order (each registered here, nowhere else):
  // 1. shutdown bookkeeping: a stalled client must never hold a shutdown (SIGTERM) open;
  closeWithoutWaitingOnClients(app);
  // 2. the transport guards: Host, Origin, admission of the body (transport/guards.ts), before
  //    any credential is checked or any body read;
  transportGuards(app, {
    hosts: options.hosts ?? loopbackRule(),
    admission,
    bodyLimit: limits.bodyLimit,
    tls: options.tls !== undefined,
  });
  // 3. authentication and roles (access/control.ts: the route table), before any body is read.
  installSessionStore(app, ctx.sessions ?? new MemorySessionStore());
  installAccessControl(app, ctx);

  // Bodies are read as text and parsed by the ingest code, which knows NDJSON and gives
  // per-record errors; an unknown content type is answered by the route with a clear code.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => answerError(error as Error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    const wire = wireError(
      'not_found',
      `No route ${request.method} ${request.url.split('?', 1)[0]!.slice(0, 200)}.`,
    );
    return reply.code(wire.status).send(wire.body);
  });

  // A probe or a witness needs the status only; the detail is for an operator with a role.
  app.get('/healthz', async (request, reply) => {
    const storage = await ctx.storage.health();
    const problems = ctx.logProblems?.() ?? [];
    // `unhealthy`: the log itself is wrong (behind its witnesses, rows missing) and waits for an
    // operator; `degraded`: its storage cannot be used now.
    const status = problems.length > 0 ? 'unhealthy' : storage.ok ? 'ok' : 'degraded';
    const code = status === 'ok' ? 200 : 503;
    const reason = problems.length > 0 ? { reason: problems[0]!.code } : {};
    const roles = request.caller?.roles ?? [];
    if (!satisfies(roles, 'analyst') && !satisfies(roles, 'admin')) {
      return reply.code(code).send({ status, ...reason });
    }
    const body = {
      status,
      ...(problems.length > 0 ? { ...reason, problems } : {}),
      storage: { kind: ctx.storage.kind, ...storage },
      log: {
        origin: ctx.log.origin,
        size: ctx.log.size,
        queued: ctx.log.queuedEntries,
        appends_refused: ctx.log.extensionRefused !== null,
      },
      admission: admission.load(),
      ...(ctx.cluster ? { cluster: await ctx.cluster.status() } : {}),
    };
    return reply.code(status === 'ok' ? 200 : 503).send(body);
  });
  eventRoutes(app, ctx);
  logRoutes(app, ctx);
  tokenRoutes(app, ctx);
  principalRoutes(app, ctx);
  decisionRoutes(app, ctx);
  authzenRoutes(app, ctx);
  investigateRoutes(app, ctx);
  exportRoutes(app, ctx);
  otlpRoutes(app, ctx);
  signInRoutes(app, ctx);
  sessionRoutes(app, ctx);
  consoleRoutes(app);
  return app;
}
