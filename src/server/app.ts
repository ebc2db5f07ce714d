/**
 * buildApp(deps): the HTTP API as a Fastify instance, without listening. One route plugin per
 * domain and one error handler that turns every error into `{ error: { code, message, details,
 * requestId } }` with the status its code's category decides. File bodies are streamed both
 * ways: upload bodies are handed to the pfs layer as streams, never buffered whole.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { SluiceError, isSluiceError } from '../errors/index.js';
import type { Pfs } from '../pfs/index.js';
import type { Pps } from '../pps/index.js';
import { API_PREFIX } from '../api/types.js';
import { repoRoutes } from './routes/repos.js';
import { commitRoutes } from './routes/commits.js';
import { fileRoutes } from './routes/files.js';
import { adminRoutes } from './routes/admin.js';
import { ppsRoutes } from './routes/pps.js';
import { consoleRoutes } from './routes/console.js';
import { join } from 'node:path';
import { packageRoot } from '../lib/version.js';
// ---- auth ----
import { AuthService } from '../auth/index.js';
import { authRoutes, installAuth, wireAuth } from './routes/auth.js';
// ---- end auth ----
import { DaemonMetrics } from './metrics/daemon-metrics.js';
import { PromMeter } from './metrics/prom-meter.js';
import { metricsRoutes } from './routes/metrics.js';

export interface AppDeps {
  pfs: Pfs;
  pps?: Pps;
  version: string;
  logger?: boolean;
  /** The auth service (the daemon shares it with the executor); made from pfs's store when omitted. */
  auth?: AuthService;
  /** The meter the stores, pfs and pps were given (the daemon makes one); a fresh one when omitted. */
  meter?: PromMeter;
  /** Set by buildApp for the routes: the meter wired to pfs and pps. */
  metrics?: DaemonMetrics;
  /** The built web console served at `/` (default: the package's dist/console). */
  consoleDir?: string;
}

export const STREAM_CONTENT_TYPES = ['application/octet-stream', 'application/x-tar'];

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger === true ? { level: 'info' } : false,
    bodyLimit: 16 * 1024 * 1024,
    // Uploads of a large file can take minutes; keep-alive clients reuse connections.
    requestTimeout: 0,
    keepAliveTimeout: 65_000,
    // Long polls (worker claims, subscribe, logs -f) must not hold a shutdown open.
    forceCloseConnections: true,
    genReqId: () => Math.random().toString(36).slice(2, 12),
  });

  // Pass upload bodies through as streams; the route decides how to consume them.
  app.addContentTypeParser(STREAM_CONTENT_TYPES, (_req, payload, done) => done(null, payload));

  app.setErrorHandler((err, req, reply) => {
    let e: SluiceError;
    if (isSluiceError(err)) e = err;
    else if ((err as { validation?: unknown }).validation !== undefined || (err as { statusCode?: number }).statusCode === 400) {
      e = new SluiceError('INVALID_REQUEST_BODY', (err as Error).message);
    } else if ((err as { statusCode?: number }).statusCode === 413) {
      e = new SluiceError('INVALID_REQUEST_BODY', (err as Error).message);
    } else if ((err as { statusCode?: number }).statusCode === 415) {
      e = new SluiceError('INVALID_REQUEST_BODY', (err as Error).message);
    } else {
      req.log.error({ err }, 'internal error');
      e = new SluiceError('INTERNAL', `internal error: ${(err as Error).message}`);
    }
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy(e);
      return;
    }
    void reply.status(e.status).header('content-type', 'application/json').send(e.toBody(req.id));
  });

  app.setNotFoundHandler((req, reply) => {
    const e = new SluiceError('INVALID_ARGUMENT', `no such API route: ${req.method} ${req.url}`);
    void reply.status(404).send(e.toBody(req.id));
  });

  // ---- metrics: per-route request counts and latencies; the /metrics route ----
  const metrics = new DaemonMetrics(deps.meter ?? new PromMeter({ defaultMetrics: false }), deps.pfs, deps.pps);
  metrics.installHttpHook(app);
  app.addHook('onClose', async () => metrics.close());
  deps = { ...deps, metrics };
  // ---- end metrics ----

  // ---- auth: the one authorization hook, installed before any route so it sees them all ----
  const auth = wireAuth(deps.auth ?? new AuthService(deps.pfs.ctx.db, { now: deps.pfs.ctx.now }), deps.pfs);
  installAuth(app, auth);
  await app.register(authRoutes(auth), { prefix: API_PREFIX });
  // ---- end auth ----

  await app.register(metricsRoutes(metrics));
  await app.register(adminRoutes(deps), { prefix: API_PREFIX });
  await app.register(repoRoutes(deps), { prefix: API_PREFIX });
  await app.register(commitRoutes(deps), { prefix: API_PREFIX });
  await app.register(fileRoutes(deps), { prefix: API_PREFIX });
  if (deps.pps !== undefined) await app.register(ppsRoutes(deps.pps), { prefix: API_PREFIX });
  await app.register(consoleRoutes(deps.consoleDir ?? join(packageRoot(), 'dist', 'console')));
  return app;
}
