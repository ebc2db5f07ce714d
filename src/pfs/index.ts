/**
 * The pfs layer: versioned repos, branches, commits and files. `openPfs` wires the service
 * pieces over a metadata store and an object store.
 */
import type { MetadataStore } from '../storage/metadata/index.js';
import type { ObjectStore } from '../storage/objects/index.js';
import { PfsContext } from './context.js';
import { FileReader } from './file-reader.js';
import { PfsService } from './pfs-service.js';
import { Uploads } from './uploads.js';
import { Fsck } from './fsck.js';
import { collectGarbage, type GcReport } from './gc.js';

export interface Pfs {
  ctx: PfsContext;
  service: PfsService;
  uploads: Uploads;
  files: FileReader;
  fsck: Fsck;
  gc(): Promise<GcReport>;
}

export function openPfs(meta: MetadataStore, objects: ObjectStore, now?: () => number): Pfs {
  const ctx = new PfsContext(meta, objects, now);
  return {
    ctx,
    service: new PfsService(ctx),
    uploads: new Uploads(ctx),
    files: new FileReader(ctx),
    fsck: new Fsck(ctx),
    gc: () => collectGarbage(ctx),
  };
}

export { PfsContext } from './context.js';
export { PfsService } from './pfs-service.js';
export type { GcReport } from './gc.js';
// Transaction-level building blocks for the pps controller (job output commits).
export { commitStage } from './context.js';
export { finishCommitTx, getCommitRow, commitInfo } from './commits.js';
export { startCommitTx } from './pfs-service.js';
export type { StageOp } from './uploads.js';
