/**
 * The pfs layer: versioned repos, branches, commits and files. `openPfs` wires the service
 * pieces over a metadata store and an object store.
 */
import type { MetadataStore } from '../storage/metadata/index.js';
import type { ObjectStore } from '../storage/objects/index.js';
import type { Meter } from '../lib/meter.js';
import { PfsContext } from './context.js';
import { FileReader } from './file-reader.js';
import { PfsService } from './pfs-service.js';
import { Uploads } from './uploads.js';
import { Fsck } from './fsck.js';
import { GarbageCollector, type GcOptions, type GcReport } from './gc.js';

export interface Pfs {
  ctx: PfsContext;
  service: PfsService;
  uploads: Uploads;
  files: FileReader;
  fsck: Fsck;
  /** One garbage collection (runs are serialised); `{ startup: true }` only cleans what a crash left. */
  gc(opts?: Omit<GcOptions, 'signal'>): Promise<GcReport>;
  /** Collects every `intervalMs` (off when undefined or 0); the result stops it. */
  schedule(intervalMs: number | undefined): () => Promise<void>;
  collector: GarbageCollector;
}

export interface PfsOptions {
  now?: () => number;
  /** Told about commits, chunks (and, through the pps layer, datums); default: records nothing. */
  meter?: Meter;
  /** Defaults of every garbage collection run (e.g. the grace period). */
  gcDefaults?: Omit<GcOptions, 'signal'>;
}

export function openPfs(meta: MetadataStore, objects: ObjectStore, opts: PfsOptions | (() => number) = {}): Pfs {
  const o = typeof opts === 'function' ? { now: opts } : opts;
  const ctx = new PfsContext(meta, objects, o.now, o.meter);
  const collector = new GarbageCollector(ctx, o.gcDefaults ?? {});
  return {
    ctx,
    service: new PfsService(ctx),
    uploads: new Uploads(ctx),
    files: new FileReader(ctx),
    fsck: new Fsck(ctx),
    gc: (opts) => collector.run(opts),
    schedule: (intervalMs) => collector.schedule(intervalMs),
    collector,
  };
}

export { PfsContext } from './context.js';
export { PfsService } from './pfs-service.js';
export type { GcOptions, GcReport } from './gc.js';
export { DEFAULT_GC_GRACE_MS } from './gc.js';
// Transaction-level building blocks for the pps controller (job output commits).
export { commitStage } from './context.js';
export { finishCommitTx, getCommitRow, commitInfo } from './commits.js';
export { startCommitTx } from './pfs-service.js';
export type { StageOp } from './uploads.js';
