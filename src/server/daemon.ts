/**
 * The daemon: opens the stores (SQLite `meta.db` or PostgreSQL; the `objects/` folder, another
 * folder or an S3 bucket), collects what a crash left behind, then serves the HTTP API and
 * Pachyderm's gRPC API on ONE address: a listener hands each connection to the gRPC server when it
 * opens with HTTP/2's preface and to Fastify's HTTP/1.1 server otherwise
 * (`src/grpc/dual-listener.ts`). `close()` stops taking connections, stops the workers, gives
 * in-flight gRPC calls a moment, closes every connection, then closes the stores.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openPostgresMetadataStore, openSqliteMetadataStore } from '../storage/metadata/index.js';
import { MeteredObjectStore, openObjectStore } from '../storage/objects/index.js';
import { PromMeter } from './metrics/prom-meter.js';
import type { MetricsAuth } from './metrics/daemon-metrics.js';
import { openPfs, type Pfs, type GcReport } from '../pfs/index.js';
import { packageRoot, packageVersion } from '../lib/version.js';
import { SluiceError, wrapError } from '../errors/index.js';
import { buildApp } from './app.js';
import { createGrpcServer, type GrpcServer } from '../grpc/server.js';
import { listenDual, type DualListener } from '../grpc/dual-listener.js';
import { LocalExecutor, NoopExecutor, openPps, type Executor, type Pps } from '../pps/index.js';
// ---- auth ----
import { AuthService } from '../auth/index.js';
import type { ValidPipelineSpec } from '../pps/spec/index.js';
import { inputRepos } from './routes/auth.js';
// ---- end auth ----

export interface DaemonOptions {
  dataDir: string;
  host: string;
  port: number;
  logger?: boolean;
  /**
   * The metadata store: undefined or 'sqlite' for `<data-dir>/meta.db` (the embedded default), or
   * a `postgres://user@host:port/db?schema=name` URL. Objects stay under the data directory.
   */
  metadata?: string;
  /** The object store: undefined for `<data-dir>/objects`, a folder, or `s3://BUCKET/PREFIX` (src/storage/objects/open.ts). */
  objects?: string;
  /** Run the garbage collector every this many ms (undefined or 0: never; `sluice gc` runs it on demand). */
  gcIntervalMs?: number;
  /** Unrecorded packs younger than this are left to their writer (default 15 min; see src/pfs/gc.ts). */
  gcGraceMs?: number;
  /** 'local' (default) runs pipeline workers as child processes; 'none' runs no workers. */
  executor?: 'local' | 'none';
  /** `GET /metrics`: `token` (default) needs a user or robot token while auth is active; `none` is open. */
  metricsAuth?: MetricsAuth;
}

export interface Daemon {
  app: FastifyInstance;
  /** Pachyderm's gRPC API, served on the same address as `app`. */
  grpc: GrpcServer;
  pfs: Pfs;
  pps: Pps;
  auth: AuthService;
  /** This daemon's metrics (its own registry: daemons in one process never mix counts). */
  meter: PromMeter;
  /** host:port actually bound (port 0 picks a free one). */
  address: string;
  gc: GcReport;
  close(): Promise<void>;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const dataDir = resolve(opts.dataDir);
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw wrapError(err, 'UNAVAILABLE', `cannot create data directory ${dataDir}`);
  }
  if (opts.metadata !== undefined && opts.metadata !== 'sqlite' && !/^postgres(ql)?:\/\//.test(opts.metadata)) {
    throw new SluiceError('INVALID_ARGUMENT', `unknown metadata store ${JSON.stringify(opts.metadata)}: use "sqlite" or a postgres:// URL`);
  }
  if (opts.metricsAuth !== undefined && opts.metricsAuth !== 'none' && opts.metricsAuth !== 'token') {
    throw new SluiceError('INVALID_ARGUMENT', `unknown metrics auth ${JSON.stringify(opts.metricsAuth)}: use "none" or "token"`);
  }
  // One meter per daemon, handed down to the stores, pfs and pps (and the executor's restarts).
  const meter = new PromMeter();
  // Parsed first: a bad --objects is refused before anything is opened.
  const objects = new MeteredObjectStore(await openObjectStore(opts.objects, dataDir), meter);
  const meta = opts.metadata !== undefined && /^postgres(ql)?:\/\//.test(opts.metadata)
    ? await openPostgresMetadataStore(opts.metadata, { meter })
    : await openSqliteMetadataStore(join(dataDir, 'meta.db'), { meter });
  try {
    await objects.open();
  } catch (err) {
    await meta.close().catch(() => undefined);
    throw err;
  }
  const pfs = openPfs(meta, objects, { meter, ...(opts.gcGraceMs !== undefined ? { gcDefaults: { graceMs: opts.gcGraceMs } } : {}) });
  const gc = await pfs.gc({ startup: true });
  const stopGc = pfs.schedule(opts.gcIntervalMs);
  let address = `${opts.host}:${opts.port}`;
  let pps: Pps | undefined;
  const auth = new AuthService(meta.db, { now: pfs.ctx.now, metricsAuth: opts.metricsAuth ?? 'token' });
  const executor: Executor = opts.executor === 'none'
    ? new NoopExecutor()
    : new LocalExecutor({
        command: [process.execPath, join(packageRoot(), 'bin', 'sluice.js')],
        address: () => address,
        // ---- auth: workers (and the user code they run) carry the pipeline's own token ----
        // Scratch per daemon, and the data folder hidden from user code (cli/commands/worker.ts).
        env: async (pipeline) => ({
          PACH_TOKEN: await auth.pipelineToken(pipeline),
          SLUICE_WORKER_DIR: join(dataDir, 'workers'),
          SLUICE_SANDBOX_HIDE: dataDir,
        }),
        onWorkerExit: (pipeline, worker) => pps?.jobs.releaseWorker(pipeline, worker),
      });
  pps = openPps(pfs, executor);
  // ---- auth: pipelines' tokens and roles follow them; roles re-derived from the specs at start ----
  pps.pipelines.setCredentials(auth);
  for (const p of await pps.pipelines.list()) {
    const { inputs, crons } = inputRepos((p.spec as unknown as ValidPipelineSpec).input);
    await auth.syncPipelineBindings(p.name, [...inputs, ...crons]);
  }
  // ---- end auth ----
  const app = await buildApp({ pfs, pps, auth, meter, version: packageVersion(), logger: opts.logger ?? false });
  await app.ready();
  const clusterId = createHash('sha256').update(`${dataDir}\n${opts.metadata ?? 'sqlite'}`).digest('hex').slice(0, 32);
  const grpc = createGrpcServer({ pfs, pps, auth, version: packageVersion(), clusterId });
  let listener: DualListener;
  try {
    listener = await listenDual({ host: opts.host, port: opts.port, http: app.server, grpc: grpc.accept });
  } catch (err) {
    await stopGc();
    await grpc.close(0);
    await app.close();
    await objects.close();
    await meta.close();
    throw wrapError(err, 'UNAVAILABLE', `cannot listen on ${opts.host}:${opts.port}`);
  }
  address = `${opts.host}:${listener.port}`;
  // Workers connect back to the address; start them only once the daemon listens.
  await pps.start();
  let closed = false;
  return {
    app,
    grpc,
    pfs,
    pps,
    auth,
    meter,
    address,
    gc,
    async close() {
      if (closed) return;
      closed = true;
      await stopGc();
      const listenerClosed = listener.close();
      await pps?.close();
      await grpc.close();
      // Fastify closes connections itself only when it listens; here the dual listener does.
      app.server.closeAllConnections();
      await app.close();
      await listenerClosed;
      await objects.close();
      await meta.close();
    },
  };
}
