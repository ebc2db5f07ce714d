/**
 * What every pfs module shares: the two stores, the node cache, the event bus and the clock.
 * `nodeReader(exec)` reads tree nodes through whichever executor (the database or an open
 * transaction) the caller holds: with SQLite a query outside the caller's transaction would wait
 * for that transaction's connection for ever.
 */
import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import { SluiceError } from '../errors/index.js';
import { Lru } from '../lib/lru.js';
import type { Database, MetadataStore } from '../storage/metadata/index.js';
import type { ChunkLocation, ObjectStore } from '../storage/objects/index.js';
import { CachedNodeReader, NodeCache, type DecodedNodeReader } from './tree/index.js';
import type { CommitInfo } from '../api/types.js';
import { NOOP_METER, type Meter } from '../lib/meter.js';
import { InFlight } from './in-flight.js';

export type Exec = Kysely<Database>;

export interface PfsEvents {
  commitFinished: [CommitInfo];
  commitStarted: [CommitInfo];
}

export class PfsContext {
  readonly events = new EventEmitter<PfsEvents>();
  /**
   * Decoded tree nodes by hash, shared by every reader: nodes are immutable, so a cached copy is
   * never stale. Bounded by the nodes' encoded bytes (decoded ones take a small multiple in the
   * heap), so a repo of a million files does not grow the daemon without limit.
   */
  private readonly nodeCache = new NodeCache({ maxNodes: 20_000, maxBytes: nodeCacheBytes() });
  /** Chunk locations by hash; a chunk's location never changes while it is referenced. */
  readonly chunkCache = new Lru<string, ChunkLocation>(100_000);
  /** Uploads of this process between their first chunk look-up and their recording transaction (for gc). */
  readonly inFlight = new InFlight();

  /** Callbacks to run once the transaction they were registered in has committed. */
  private readonly afterCommitOf = new WeakMap<Exec, Array<() => void>>();

  constructor(
    readonly meta: MetadataStore,
    readonly objects: ObjectStore,
    readonly now: () => number = Date.now,
    /** Told what pfs and pps did (commits, chunks, datums); shared with the pps layer. */
    readonly meter: Meter = NOOP_METER,
  ) {
    this.events.setMaxListeners(0);
  }

  get db(): Exec {
    return this.meta.db;
  }

  nodeReader(exec: Exec, overlay?: Map<string, Uint8Array>): DecodedNodeReader {
    return new CachedNodeReader({
      async getNode(hash: string): Promise<Uint8Array> {
        const o = overlay?.get(hash);
        if (o !== undefined) return o;
        const row = await exec.selectFrom('nodes').select('data').where('hash', '=', hash).executeTakeFirst();
        if (row === undefined) throw new SluiceError('PFS_CORRUPT', `tree node ${hash} is missing`, { details: { node: hash } });
        return row.data instanceof Uint8Array ? row.data : new Uint8Array(row.data as ArrayBufferLike);
      },
    }, this.nodeCache);
  }

  /** Runs `fn` in one metadata transaction: everything it writes lands together or not at all. */
  async tx<T>(fn: (trx: Exec) => Promise<T>): Promise<T> {
    const after: Array<() => void> = [];
    const result = await this.db.transaction().execute((trx) => {
      this.afterCommitOf.set(trx, after);
      return fn(trx);
    });
    for (const f of after) {
      try {
        f();
      } catch {
        // Metering only: a failure here must not turn a committed change into an error.
      }
    }
    return result;
  }

  /**
   * Runs `f` once `trx` (a transaction of `tx`) has committed, never if it rolls back: how
   * counts of what a transaction wrote stay exact. Outside `tx`, `f` runs at once.
   */
  afterCommit(trx: Exec, f: () => void): void {
    const list = this.afterCommitOf.get(trx);
    if (list === undefined) f();
    else list.push(f);
  }
}

export function commitStage(repo: string, id: string): string {
  return `c/${repo}/${id}`;
}

export function uploadStage(id: string): string {
  return `u/${id}`;
}

/**
 * The node cache's bound in encoded MiB: SLUICE_NODE_CACHE_MB, default 32. A cached node takes
 * several times its encoded size in the heap (nodes a commit just wrote keep their encoding
 * drafts for the next commit), so the bound is kept low: measured on a repo of 200,000 files,
 * 3,000 one-file commits leave the daemon at ~360 MB RSS with 32, ~290 MB with 8, and still
 * growing past 580 MB at 6,000 commits with 128 (where the scale benchmark's build, with a
 * count-only bound, ran out of heap).
 */
function nodeCacheBytes(): number {
  const mb = Number(process.env.SLUICE_NODE_CACHE_MB ?? '32');
  return (Number.isFinite(mb) && mb > 0 ? mb : 32) * 1024 * 1024;
}
