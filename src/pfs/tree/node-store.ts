/**
 * Where tree nodes come from.
 *
 * A commit tree (`btree.ts`) reads its immutable, content-addressed nodes through the narrow
 * `NodeReader` interface and never writes: an update *returns* its new nodes so the caller can
 * store them in the same metadata transaction that moves a branch head (DESIGN.md invariant 1).
 *
 * - `MemoryNodeStore` keeps nodes in a Map: for tests, and for the view of an open commit that is
 *   built without being persisted.
 * - `CachedNodeReader` wraps any reader with an LRU of *decoded* nodes. Nodes never change once
 *   named, so a cached node is never stale and no invalidation exists. Every node it loads is
 *   hash-verified before it is decoded, so a corrupted object store surfaces as PFS_CORRUPT
 *   instead of a silently wrong tree. It also takes the nodes `apply` builds, already decoded,
 *   so a branch updated commit after commit never parses its own new root path back.
 * - `NodeCache` is the LRU behind it, which several readers may share (one daemon-wide cache in
 *   front of per-transaction readers): a node's name says everything about its content.
 */
import { SluiceError } from '../../errors/index.js';
import { decodeNode, verifyNode, type TreeNode } from './btree.js';

/** Reads the encoded bytes of a node by its name (the SHA-256 hex of those bytes). */
export interface NodeReader {
  getNode(hash: string): Promise<Uint8Array>;
}

/**
 * A reader that can hand out nodes already decoded (and verified). The tree operations use this
 * when the reader offers it, so a hot path never parses the same node twice.
 */
export interface DecodedNodeReader extends NodeReader {
  getDecodedNode(hash: string): Promise<TreeNode>;
  /**
   * Takes a node that `apply` just built, in decoded form, so that the next update (which
   * starts from that new root) need not read and parse it back. `size` is its encoded length.
   * The node may never be stored (its commit may be abandoned); holding it is still correct,
   * since a name always stands for the same content.
   */
  rememberNode?(hash: string, node: TreeNode, size: number): void;
}

/** Nodes in memory, keyed by hash. A missing node is PFS_CORRUPT: some tree names it. */
export class MemoryNodeStore implements NodeReader {
  private readonly nodes = new Map<string, Uint8Array>();

  async getNode(hash: string): Promise<Uint8Array> {
    const bytes = this.nodes.get(hash);
    if (bytes === undefined) throw missingNode(hash);
    return bytes;
  }

  /** Stores one node. The caller promises `hash` names `bytes`; readers verify it on load. */
  put(hash: string, bytes: Uint8Array): void {
    this.nodes.set(hash, bytes);
  }

  /** Stores every node an `apply` returned. */
  putAll(nodes: ReadonlyMap<string, Uint8Array>): void {
    for (const [hash, bytes] of nodes) this.nodes.set(hash, bytes);
  }

  has(hash: string): boolean {
    return this.nodes.has(hash);
  }

  delete(hash: string): boolean {
    return this.nodes.delete(hash);
  }

  hashes(): IterableIterator<string> {
    return this.nodes.keys();
  }

  get size(): number {
    return this.nodes.size;
  }
}

export interface CachedNodeReaderOptions {
  /** Most decoded nodes kept. Default 20,000. */
  maxNodes?: number;
  /**
   * Most encoded bytes kept (the sum of the cached nodes' encoded sizes; decoded nodes take a
   * small multiple of that in the heap). Default 256 MiB, which with ~32 KiB leaves is reached
   * before `maxNodes`: 20,000 full leaves would hold well over a gigabyte of heap.
   */
  maxBytes?: number;
}

export interface CacheStats {
  /** Loads answered from the cache (including ones that joined a load already in flight). */
  hits: number;
  /** Loads that went to the wrapped reader. */
  misses: number;
}

interface CacheEntry {
  node: TreeNode;
  size: number;
}

/**
 * The LRU itself, bounded by node count and encoded bytes. One cache can serve several readers
 * (say, one per metadata transaction, or one per open commit's overlay): a node's name fixes its
 * content, so it does not matter which source a cached node was read from.
 */
export class NodeCache {
  readonly stats: CacheStats = { hits: 0, misses: 0 };
  private readonly maxNodes: number;
  private readonly maxBytes: number;
  // A Map iterates in insertion order, so re-inserting on a hit keeps the least recently used
  // entry first: eviction takes from the front.
  private readonly entries = new Map<string, CacheEntry>();
  private bytes = 0;

  constructor(options: CachedNodeReaderOptions = {}) {
    this.maxNodes = options.maxNodes ?? 20_000;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  }

  get(hash: string): TreeNode | undefined {
    const hit = this.entries.get(hash);
    if (hit === undefined) return undefined;
    this.entries.delete(hash);
    this.entries.set(hash, hit);
    return hit.node;
  }

  set(hash: string, node: TreeNode, size: number): void {
    const old = this.entries.get(hash);
    if (old !== undefined) {
      this.bytes -= old.size;
      this.entries.delete(hash);
    }
    this.entries.set(hash, { node, size });
    this.bytes += size;
    while (this.entries.size > this.maxNodes || (this.bytes > this.maxBytes && this.entries.size > 1)) {
      const first = this.entries.entries().next();
      if (first.done === true) break;
      const [oldest, evicted] = first.value;
      this.entries.delete(oldest);
      this.bytes -= evicted.size;
    }
  }

  /** Number of decoded nodes held. */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}

/** A reader that answers from a `NodeCache` of decoded, verified nodes, loading misses from `inner`. */
export class CachedNodeReader implements DecodedNodeReader {
  readonly cache: NodeCache;
  // Per reader, not per cache: a load that fails in one reader's view (a node it cannot see)
  // must not fail a concurrent load through another reader that can.
  private readonly inFlight = new Map<string, Promise<TreeNode>>();

  /** `cache` is a shared `NodeCache`, or options for a cache of this reader's own. */
  constructor(
    private readonly inner: NodeReader,
    cache: NodeCache | CachedNodeReaderOptions = {},
  ) {
    this.cache = cache instanceof NodeCache ? cache : new NodeCache(cache);
  }

  get stats(): CacheStats {
    return this.cache.stats;
  }

  /** Number of decoded nodes held by the cache. */
  get size(): number {
    return this.cache.size;
  }

  /** Passes through to the wrapped reader: callers that want bytes (a checker) get the stored ones. */
  getNode(hash: string): Promise<Uint8Array> {
    return this.inner.getNode(hash);
  }

  getDecodedNode(hash: string): Promise<TreeNode> {
    const hit = this.cache.get(hash);
    if (hit !== undefined) {
      this.cache.stats.hits++;
      return Promise.resolve(hit);
    }
    // Concurrent loads of one node (a batched apply descends into siblings in parallel) share a
    // single read.
    const pending = this.inFlight.get(hash);
    if (pending !== undefined) {
      this.cache.stats.hits++;
      return pending;
    }
    this.cache.stats.misses++;
    const load = this.load(hash).finally(() => this.inFlight.delete(hash));
    this.inFlight.set(hash, load);
    return load;
  }

  rememberNode(hash: string, node: TreeNode, size: number): void {
    this.cache.set(hash, node, size);
  }

  private async load(hash: string): Promise<TreeNode> {
    const bytes = await this.inner.getNode(hash);
    verifyNode(hash, bytes);
    const node = decodeNode(bytes, hash);
    this.cache.set(hash, node, bytes.length);
    return node;
  }
}

export function missingNode(hash: string): SluiceError {
  return new SluiceError('PFS_CORRUPT', `tree node ${hash} is missing from the store`, { details: { hash } });
}
