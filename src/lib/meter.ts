/**
 * The meter: what the layers below the server tell the daemon's metrics, as plain method calls.
 * It is an interface (no Prometheus import here), handed down from `src/server/daemon.ts` to the
 * stores, pfs and pps, so that several daemons in one process (tests) never mix their counts and
 * a layer used without a daemon (a unit test) gets `NOOP_METER`. The Prometheus implementation
 * is `src/server/metrics/prom-meter.ts`; `docs/metrics.md` lists what each call becomes.
 *
 * Promises of every implementation: calls are cheap (no I/O), never throw, and take no job ids
 * or error texts (labels stay bounded: repos, pipelines, routes, operation names).
 */

export type ObjectStoreOp = 'create' | 'append' | 'seal' | 'abort' | 'read' | 'list' | 'delete';
export type MetadataOp = 'select' | 'insert' | 'update' | 'delete' | 'other';
/** How a datum ended: `processed` (user code succeeded), `recovered` (failed, `err_cmd` accepted),
 *  `skipped` (output reused from an earlier job), `failed` (out of tries). */
export type DatumOutcome = 'processed' | 'recovered' | 'skipped' | 'failed';

export interface StorageMeter {
  /** One object-store call took `seconds`; `bytes` read or appended, when the call moves bytes. */
  objectStoreOp(op: ObjectStoreOp, seconds: number, ok: boolean, bytes?: number): void;
  /** One metadata-store query took `seconds`. */
  metadataQuery(op: MetadataOp, seconds: number, ok: boolean): void;
}

export interface PfsMeter {
  /** A commit was finished (its transaction committed) with `files` put or appended, `bytes` long in all. */
  commitFinished(repo: string, files: number, bytes: number): void;
  /** A request's chunks were recorded: `stored` new ones, `deduplicated` ones already in the store (or repeated). */
  chunksRecorded(c: { stored: number; storedBytes: number; deduplicated: number; deduplicatedBytes: number }): void;
}

export interface PpsMeter {
  datums(pipeline: string, outcome: DatumOutcome, count: number): void;
  /** One attempt at a datum, as the worker timed it (download, user code, upload). */
  datumDuration(pipeline: string, success: boolean, seconds: number): void;
  jobEnded(pipeline: string, state: string): void;
  /** A worker of the pipeline exited unasked and is being started again. */
  workerRestarted(pipeline: string): void;
}

/** What one spout commit carried: see `SpoutCommitStats` in src/api/types.ts. */
export interface SpoutBatch {
  /** Messages from the source in this commit. */
  messages: number;
  /** When the source says each message was published (ms since the epoch), if it knows. */
  publishTimesMs?: readonly number[];
  /** When the commit finished (ms since the epoch, the daemon's clock). */
  committedAtMs: number;
}

export interface SpoutMeter {
  /** A commit landed on a spout's output branch. */
  spoutCommitted(pipeline: string): void;
  /** The messages of a spout commit (a connector, or the pipe worker: one archive, one message). */
  spoutBatch(pipeline: string, batch: SpoutBatch): void;
}

export interface HttpMeter {
  /** `route` is the route pattern (`/api/v1/repos/:repo`), never the concrete URL. */
  httpRequest(method: string, route: string, statusCode: number, seconds: number): void;
}

export interface Meter extends StorageMeter, PfsMeter, PpsMeter, SpoutMeter, HttpMeter {}

const nothing = (): void => undefined;

/** A meter that records nothing (layers used without a daemon). */
export const NOOP_METER: Meter = {
  objectStoreOp: nothing,
  metadataQuery: nothing,
  commitFinished: nothing,
  chunksRecorded: nothing,
  datums: nothing,
  datumDuration: nothing,
  jobEnded: nothing,
  workerRestarted: nothing,
  spoutCommitted: nothing,
  spoutBatch: nothing,
  httpRequest: nothing,
};

/** Seconds since `start` (a `process.hrtime.bigint()` reading). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
