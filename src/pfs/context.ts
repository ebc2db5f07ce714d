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
import { decodeNode, type DecodedNodeReader, type TreeNode } from './tree/index.js';
import type { CommitInfo } from '../api/types.js';

export type Exec = Kysely<Database>;

export interface PfsEvents {
  commitFinished: [CommitInfo];
  commitStarted: [CommitInfo];
}

export class PfsContext {
  readonly events = new EventEmitter<PfsEvents>();
  /** Raw node bytes by hash; nodes are immutable so a cached copy is never stale. */
  private readonly nodeCache = new Lru<string, Uint8Array>(20_000);
  /** Decoded nodes by hash, so hot paths (finish, list) never parse the same node twice. */
  private readonly decodedCache = new Lru<string, TreeNode>(50_000);
  /** Chunk locations by hash; a chunk's location never changes while it is referenced. */
  readonly chunkCache = new Lru<string, ChunkLocation>(100_000);

  constructor(
    readonly meta: MetadataStore,
    readonly objects: ObjectStore,
    readonly now: () => number = Date.now,
  ) {
    this.events.setMaxListeners(0);
  }

  get db(): Exec {
    return this.meta.db;
  }

  nodeReader(exec: Exec, overlay?: Map<string, Uint8Array>): DecodedNodeReader {
    const cache = this.nodeCache;
    const decoded = this.decodedCache;
    const reader: DecodedNodeReader = {
      async getDecodedNode(hash: string): Promise<TreeNode> {
        const d = decoded.get(hash);
        if (d !== undefined) return d;
        const node = decodeNode(await reader.getNode(hash), hash);
        // Overlay nodes belong to a view that is thrown away; do not let them crowd the cache.
        if (overlay?.has(hash) !== true) decoded.set(hash, node);
        return node;
      },
      async getNode(hash: string): Promise<Uint8Array> {
        const o = overlay?.get(hash);
        if (o !== undefined) return o;
        const c = cache.get(hash);
        if (c !== undefined) return c;
        const row = await exec.selectFrom('nodes').select('data').where('hash', '=', hash).executeTakeFirst();
        if (row === undefined) throw new SluiceError('PFS_CORRUPT', `tree node ${hash} is missing`, { details: { node: hash } });
        const bytes = row.data instanceof Uint8Array ? row.data : new Uint8Array(row.data as ArrayBufferLike);
        cache.set(hash, bytes);
        return bytes;
      },
    };
    return reader;
  }

  /** Runs `fn` in one metadata transaction: everything it writes lands together or not at all. */
  async tx<T>(fn: (trx: Exec) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }
}

export function commitStage(repo: string, id: string): string {
  return `c/${repo}/${id}`;
}

export function uploadStage(id: string): string {
  return `u/${id}`;
}
