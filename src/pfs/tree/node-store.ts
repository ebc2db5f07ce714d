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
 *   instead of a silently wrong tree.
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

/** An LRU of decoded, verified nodes in front of another reader. */
export class CachedNodeReader implements DecodedNodeReader {
  readonly stats: CacheStats = { hits: 0, misses: 0 };
  private readonly maxNodes: number;
  private readonly maxBytes: number;
  // A Map iterates in insertion order, so re-inserting on a hit keeps the least recently used
  // entry first: eviction takes from the front.
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<TreeNode>>();
  private bytes = 0;

  constructor(
    private readonly inner: NodeReader,
    options: CachedNodeReaderOptions = {},
  ) {
    this.maxNodes = options.maxNodes ?? 20_000;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  }

  /** Passes through to the wrapped reader: callers that want bytes (a checker) get the stored ones. */
  getNode(hash: string): Promise<Uint8Array> {
    return this.inner.getNode(hash);
  }

  getDecodedNode(hash: string): Promise<TreeNode> {
    const hit = this.entries.get(hash);
    if (hit !== undefined) {
      this.stats.hits++;
      this.entries.delete(hash);
      this.entries.set(hash, hit);
      return Promise.resolve(hit.node);
    }
    // Concurrent loads of one node (a batched apply descends into siblings in parallel) share a
    // single read.
    const pending = this.inFlight.get(hash);
    if (pending !== undefined) {
      this.stats.hits++;
      return pending;
    }
    this.stats.misses++;
    const load = this.load(hash).finally(() => this.inFlight.delete(hash));
    this.inFlight.set(hash, load);
    return load;
  }

  rememberNode(hash: string, node: TreeNode, size: number): void {
    this.insert(hash, { node, size });
  }

  /** Number of decoded nodes held. */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private async load(hash: string): Promise<TreeNode> {
    const bytes = await this.inner.getNode(hash);
    verifyNode(hash, bytes);
    const node = decodeNode(bytes);
    this.insert(hash, { node, size: bytes.length });
    return node;
  }

  private insert(hash: string, entry: CacheEntry): void {
    const old = this.entries.get(hash);
    if (old !== undefined) {
      this.bytes -= old.size;
      this.entries.delete(hash);
    }
    this.entries.set(hash, entry);
    this.bytes += entry.size;
    while (this.entries.size > this.maxNodes || (this.bytes > this.maxBytes && this.entries.size > 1)) {
      const first = this.entries.entries().next();
      if (first.done === true) break;
      const [oldest, evicted] = first.value;
      this.entries.delete(oldest);
      this.bytes -= evicted.size;
    }
  }
}

export function missingNode(hash: string): SluiceError {
  return new SluiceError('PFS_CORRUPT', `tree node ${hash} is missing from the store`, { details: { hash } });
}
