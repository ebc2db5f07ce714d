import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../errors/index.js';
import {
  apply,
  decodeNode,
  diff,
  encodeNode,
  get,
  hashBytes,
  leafWeight,
  range,
  seekGE,
  walkNodes,
  type DiffEntry,
  type RangeOptions,
  type TreeLimits,
  type TreeOp,
  type Value,
} from './btree.js';
import { CachedNodeReader, MemoryNodeStore, NodeCache, type NodeReader } from './node-store.js';
import { mulberry32 } from '../../lib/prng.js';

// Tiny nodes (a handful of entries per leaf, at most 8 children) so a few hundred keys make a
// tree several levels deep, exercising splits and merges at every level.
const TINY: TreeLimits = { leafMaxBytes: 256, internalMaxBytes: 1024, internalMaxFanout: 8 };


function keyOf(i: number): string {
  // Paths in a few directories, plus the directory keys themselves (ending in '/').
  const dir = `/d${i % 7}/`;
  return i % 50 === 0 ? `${dir}s${i}/` : `${dir}f${String(i).padStart(5, '0')}`;
}

function randomValue(rand: () => number, big: boolean): Value {
  const r = rand();
  if (big && r < 0.08) return { blob: 'x'.repeat(200 + Math.floor(rand() * 400)) };
  if (r < 0.3) return Math.floor(rand() * 1000);
  if (r < 0.5) return `v${Math.floor(rand() * 1e6)}`;
  // Keys deliberately out of order: the stored encoding must not depend on it.
  if (r < 0.8) return { s: Math.floor(rand() * 100), h: 'ab' };
  return [true, { z: null, a: [1, 2] }];
}

function sortedEntries(model: Map<string, Value>): Array<[string, Value]> {
  return [...model.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

function modelRange(model: Map<string, Value>, o: RangeOptions): Array<[string, Value]> {
  return sortedEntries(model).filter(
    ([k]) =>
      (o.gte === undefined || k >= o.gte) &&
      (o.gt === undefined || k > o.gt) &&
      (o.lt === undefined || k < o.lt) &&
      (o.prefix === undefined || k.startsWith(o.prefix)),
  );
}

function modelDiff(before: Map<string, Value>, after: Map<string, Value>, prefix = ''): DiffEntry[] {
  const keys = [...new Set([...before.keys(), ...after.keys()])].filter((k) => k.startsWith(prefix)).sort();
  const out: DiffEntry[] = [];
  for (const key of keys) {
    const b = before.get(key);
    const a = after.get(key);
    if (JSON.stringify(b) !== JSON.stringify(a) || (b === undefined) !== (a === undefined)) out.push({ key, before: b, after: a });
  }
  return out;
}

/** A reader that counts the reads it passes on. */
class CountingReader implements NodeReader {
  reads = 0;
  constructor(private readonly inner: NodeReader) {}
  getNode(hash: string): Promise<Uint8Array> {
    this.reads++;
    return this.inner.getNode(hash);
  }
}

interface TreeShape {
  depth: number;
  nodes: Set<string>;
}

/**
 * Checks the structural promises of a tree: balanced, keys ascending, every internal key the
 * exact first key of its child and child keys inside their range, no empty node, no root with
 * one child, nothing over the size limits (except a leaf holding one oversized entry) and, when
 * `strictFill`, no non-root node underfull.
 */
async function checkTree(store: MemoryNodeStore, root: string | null, limits: TreeLimits, strictFill: boolean): Promise<TreeShape> {
  const nodes = new Set<string>();
  if (root === null) return { depth: 0, nodes };
  const floor = limits.internalMaxBytes / limits.internalMaxFanout;
  const visit = async (hash: string, height: number | null, lo: string | null, hi: string | null): Promise<number> => {
    nodes.add(hash);
    const bytes = await store.getNode(hash);
    assert.equal(hashBytes(bytes), hash);
    const node = decodeNode(bytes, hash);
    const isRoot = height === null;
    assert.ok(node.keys.length > 0, 'no empty node');
    if (lo !== null) assert.equal(node.keys[0], lo, 'parent key is the exact first key');
    if (hi !== null) assert.ok(node.keys[node.keys.length - 1]! < hi, 'keys stay below the next sibling');
    if (node.kind === 'leaf') {
      assert.ok(isRoot || height === 0, 'all leaves at one depth');
      const weight = leafWeight(bytes);
      if (node.keys.length > 1) assert.ok(weight <= limits.leafMaxBytes, `leaf of ${weight} bytes over the limit`);
      if (strictFill && !isRoot) assert.ok(weight >= limits.leafMaxBytes / 4, `leaf of ${weight} bytes is underfull`);
      return 0;
    }
    if (!isRoot) assert.equal(node.height, height, 'heights count down to the leaves');
    if (isRoot) assert.ok(node.children.length >= 2, 'a root has at least two children');
    let weight = 0;
    for (const k of node.keys) weight += Math.max(Buffer.byteLength(JSON.stringify(k)) + 68, floor);
    assert.ok(weight <= limits.internalMaxBytes, 'internal node over the limit');
    if (strictFill && !isRoot) assert.ok(weight >= limits.internalMaxBytes / 4, `internal node with ${node.keys.length} children is underfull`);
    for (let i = 0; i < node.children.length; i++) {
      await visit(node.children[i]!, node.height - 1, node.keys[i]!, node.keys[i + 1] ?? hi);
    }
    return node.height;
  };
  // A leaf-only tree has depth 1; each internal level adds one.
  const depth = (await visit(root, null, null, null)) + 1;
  return { depth, nodes };
}

function randomOps(rand: () => number, model: Map<string, Value>, keySpace: number, big: boolean): TreeOp[] {
  const r = rand();
  if (r < 0.03) return [...model.keys()].sort().map((key) => ({ key, value: null })); // delete everything
  const count = r < 0.3 ? 1 : r < 0.6 ? 1 + Math.floor(rand() * 10) : 1 + Math.floor(rand() * keySpace * 0.6);
  const deleteBias = rand() < 0.2 ? 0.9 : 0.35; // some rounds mostly delete, to shrink the tree
  const chosen = new Set<number>();
  for (let n = 0; n < count; n++) chosen.add(Math.floor(rand() * keySpace));
  return [...chosen]
    .map(keyOf)
    .sort()
    .map((key) => {
      const del = rand() < deleteBias;
      return { key, value: del ? null : randomValue(rand, big) };
    });
}

async function modelRounds(seed: number, rounds: number, keySpace: number, big: boolean): Promise<void> {
  const rand = mulberry32(seed);
  const store = new MemoryNodeStore();
  const reader = new CachedNodeReader(store, { maxNodes: 64 });
  let root: string | null = null;
  let model = new Map<string, Value>();
  for (let round = 0; round < rounds; round++) {
    const ops = randomOps(rand, model, keySpace, big);
    const next = new Map(model);
    for (const op of ops) {
      if (op.value === null) next.delete(op.key);
      else next.set(op.key, op.value);
    }
    const result = await apply(reader, root, ops, { limits: TINY });
    store.putAll(result.newNodes);
    const shape = await checkTree(store, result.root, TINY, !big);
    for (const hash of result.newNodes.keys()) assert.ok(shape.nodes.has(hash), `round ${round}: new node ${hash} is not in the tree`);
    assert.equal(result.root === null, next.size === 0);

    assert.deepEqual(await collect(range(reader, result.root)), sortedEntries(next), `round ${round}: full range`);
    assert.deepEqual(await collect(diff(reader, root, result.root)), modelDiff(model, next), `round ${round}: diff`);
    assert.deepEqual(await collect(diff(reader, result.root, root)), modelDiff(next, model), `round ${round}: reverse diff`);
    const prefix = `/d${Math.floor(rand() * 7)}/`;
    assert.deepEqual(await collect(diff(reader, root, result.root, { prefix })), modelDiff(model, next, prefix), `round ${round}: diff ${prefix}`);
    for (let probe = 0; probe < 10; probe++) {
      const key = keyOf(Math.floor(rand() * keySpace));
      assert.deepEqual(await get(reader, result.root, key), next.get(key), `round ${round}: get ${key}`);
      const ge = modelRange(next, { gte: key })[0];
      assert.deepEqual(await seekGE(reader, result.root, key), ge, `round ${round}: seekGE ${key}`);
      const other = keyOf(Math.floor(rand() * keySpace));
      const [lo, hi] = key < other ? [key, other] : [other, key];
      const opts: RangeOptions = rand() < 0.5 ? { gte: lo, lt: hi } : { gt: lo, prefix: lo.slice(0, 4) };
      assert.deepEqual(await collect(range(reader, result.root, opts)), modelRange(next, opts), `round ${round}: range ${JSON.stringify(opts)}`);
    }
    root = result.root;
    model = next;
  }
}

async function buildTree(n: number, store: MemoryNodeStore, reader: NodeReader): Promise<string> {
  const ops: TreeOp[] = [];
  for (let i = 0; i < n; i++) ops.push({ key: `/data/${String(i).padStart(7, '0')}.json`, value: { s: i, h: 'f'.repeat(16) } });
  const { root, newNodes } = await apply(reader, null, ops);
  store.putAll(newNodes);
  assert.ok(root !== null);
  return root;
}

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => isSluiceError(err) && err.code === code);
}

describe('btree against a sorted-map model', () => {
  it('matches the model over many rounds of inserts, updates and deletes', async () => {
    await modelRounds(1, 250, 600, false);
  });

  it('matches the model with another seed and a small key space', async () => {
    await modelRounds(7, 250, 80, false);
  });

  it('matches the model when some values are larger than a whole leaf', async () => {
    await modelRounds(42, 200, 300, true);
  });

  it('builds a tree from empty in one batch and deletes it all again', async () => {
    const store = new MemoryNodeStore();
    const ops: TreeOp[] = [];
    for (let i = 0; i < 3000; i++) ops.push({ key: keyOf(i), value: i });
    ops.sort((a, b) => (a.key < b.key ? -1 : 1));
    const built = await apply(store, null, ops, { limits: TINY });
    store.putAll(built.newNodes);
    const shape = await checkTree(store, built.root, TINY, true);
    assert.ok(shape.depth >= 4, `a deep tree (depth ${shape.depth})`);
    assert.equal((await collect(range(store, built.root))).length, 3000);
    const cleared = await apply(
      store,
      built.root,
      ops.map((op) => ({ key: op.key, value: null })),
      { limits: TINY },
    );
    assert.equal(cleared.root, null);
    assert.equal(cleared.newNodes.size, 0);
  });

  it('keeps nodes full when most keys are deleted one batch at a time', async () => {
    const store = new MemoryNodeStore();
    const ops: TreeOp[] = [];
    for (let i = 0; i < 2000; i++) ops.push({ key: `/k/${String(i).padStart(5, '0')}`, value: i });
    let { root, newNodes } = await apply(store, null, ops, { limits: TINY });
    store.putAll(newNodes);
    // Delete scattered runs so that whole subtrees and lone survivors appear in many places.
    for (let start = 0; start < 2000; start += 97) {
      const dels = ops.filter((_, i) => i >= start && i < start + 90 && i % 13 !== 0).map((op) => ({ key: op.key, value: null }));
      ({ root, newNodes } = await apply(store, root, dels, { limits: TINY }));
      store.putAll(newNodes);
      await checkTree(store, root, TINY, true);
    }
  });
});

describe('btree cost', () => {
  it('writes at most depth+1 nodes and reads O(depth) for one change to a 100,000-key tree', async () => {
    const store = new MemoryNodeStore();
    const root = await buildTree(100_000, store, store);
    const { depth } = await checkTree(store, root, { leafMaxBytes: 65536, internalMaxBytes: 65536, internalMaxFanout: 512 }, true);
    assert.ok(depth >= 2);
    const changes: TreeOp[][] = [
      [{ key: '/data/0050000.json', value: { s: -1, h: 'changed' } }], // update
      [{ key: '/data/0050000.json5', value: { s: 1 } }], // insert
      [{ key: '/data/0070000.json', value: null }], // delete
    ];
    for (const ops of changes) {
      const counting = new CountingReader(store);
      const result = await apply(counting, root, ops);
      assert.ok(result.newNodes.size <= depth + 1, `${result.newNodes.size} new nodes for depth ${depth}`);
      assert.ok(counting.reads <= depth + 1, `${counting.reads} reads for depth ${depth}`);
      store.putAll(result.newNodes);

      const diffReader = new CountingReader(store);
      const changed = await collect(diff(diffReader, root, result.root));
      assert.equal(changed.length, 1);
      assert.equal(changed[0]!.key, ops[0]!.key);
      assert.ok(diffReader.reads <= 2 * depth, `${diffReader.reads} reads to diff depth ${depth}`);
    }
    const seekReader = new CountingReader(store);
    assert.deepEqual(await seekGE(seekReader, root, '/data/0012345.jsonx'), ['/data/0012346.json', { s: 12346, h: 'f'.repeat(16) }]);
    assert.ok(seekReader.reads <= 2 * depth);
  });

  it('diffs in O(depth) reads across a change that adds a level to the tree', async () => {
    const store = new MemoryNodeStore();
    const heightOf = async (root: string | null): Promise<number> => {
      const node = decodeNode(await store.getNode(root!));
      return node.kind === 'leaf' ? 0 : node.height;
    };
    let root: string | null = null;
    let i = 0;
    const append = async (): Promise<string | null> => {
      const { root: next, newNodes } = await apply(store, root, [{ key: `/log/${String(i++).padStart(6, '0')}`, value: i }], { limits: TINY });
      store.putAll(newNodes);
      return next;
    };
    for (; i < 300; ) root = await append();
    const start = await heightOf(root);
    let before = root;
    while ((await heightOf(root)) === start) {
      before = root;
      root = await append();
    }
    const counting = new CountingReader(store);
    const changed = await collect(diff(counting, before, root));
    assert.deepEqual(
      changed.map((d) => d.key),
      [`/log/${String(i - 1).padStart(6, '0')}`],
    );
    const depth = start + 2;
    assert.ok(counting.reads <= 3 * depth, `${counting.reads} reads to diff trees of depth ${depth - 1} and ${depth}`);
  });

  it('creates no nodes for ops that change nothing', async () => {
    const store = new MemoryNodeStore();
    const root = await buildTree(5000, store, store);
    const result = await apply(store, root, [
      { key: '/data/0000001.json', value: { h: 'f'.repeat(16), s: 1 } }, // same value, other key order
      { key: '/data/0000002.jsonx', value: null }, // absent
    ]);
    assert.equal(result.root, root);
    assert.equal(result.newNodes.size, 0);
  });
});

describe('btree hashes', () => {
  it('gives identical content built the same way the same root', async () => {
    const a = await buildTree(20_000, new MemoryNodeStore(), new MemoryNodeStore());
    const b = await buildTree(20_000, new MemoryNodeStore(), new MemoryNodeStore());
    assert.equal(a, b);
  });

  it('gives the same roots whether or not nodes are read through a cache', async () => {
    const rand = mulberry32(99);
    const plain = new MemoryNodeStore();
    const backing = new MemoryNodeStore();
    const cached = new CachedNodeReader(backing, { maxNodes: 16 });
    let model = new Map<string, Value>();
    let a: string | null = null;
    let b: string | null = null;
    for (let round = 0; round < 60; round++) {
      const ops = randomOps(rand, model, 400, false);
      for (const op of ops) {
        if (op.value === null) model.delete(op.key);
        else model = model.set(op.key, op.value);
      }
      const ra = await apply(plain, a, ops, { limits: TINY });
      const rb = await apply(cached, b, ops, { limits: TINY });
      plain.putAll(ra.newNodes);
      backing.putAll(rb.newNodes);
      assert.equal(ra.root, rb.root, `round ${round}`);
      assert.deepEqual([...ra.newNodes.keys()].sort(), [...rb.newNodes.keys()].sort());
      a = ra.root;
      b = rb.root;
    }
  });

  it('encodes values independently of the order of their object keys', async () => {
    const store = new MemoryNodeStore();
    const one = await apply(store, null, [{ key: '/a', value: { b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'z' } } }]);
    const two = await apply(store, null, [{ key: '/a', value: { a: { c: 'z', d: [1, { x: 1, y: 2 }] }, b: 1 } }]);
    assert.equal(one.root, two.root);
    assert.equal(new TextDecoder().decode(one.newNodes.get(one.root!)), '{"l":["/a",{"a":{"c":"z","d":[1,{"x":1,"y":2}]},"b":1}]}');
  });

  it('keeps the encoding of a value with numeric-looking keys stable across updates', async () => {
    const store = new MemoryNodeStore();
    const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);
    const first = await apply(store, null, [{ key: '/a', value: { b: 1, '10': 2, '9': 3, a: 4 } }]);
    store.putAll(first.newNodes);
    assert.equal(text(first.newNodes.get(first.root!)), '{"l":["/a",{"9":3,"10":2,"a":4,"b":1}]}');
    const same = await apply(store, first.root, [{ key: '/a', value: { a: 4, '9': 3, b: 1, '10': 2 } }]);
    assert.equal(same.root, first.root);
    assert.equal(same.newNodes.size, 0);
    // Rebuilding the leaf re-encodes '/a' from its decoded form: the text must not move.
    const more = await apply(store, first.root, [{ key: '/b', value: 1 }]);
    assert.equal(text(more.newNodes.get(more.root!)), '{"l":["/a",{"9":3,"10":2,"a":4,"b":1},"/b",1]}');
  });

  it('round-trips nodes through encodeNode and decodeNode', () => {
    const leaf = { kind: 'leaf' as const, keys: ['/a', '/b/'], values: [{ s: 1 }, 'x'] };
    assert.deepEqual(decodeNode(encodeNode(leaf)), leaf);
    const internal = { kind: 'internal' as const, height: 2, keys: ['/a', '/m'], children: ['a'.repeat(64), 'b'.repeat(64)] };
    assert.deepEqual(decodeNode(encodeNode(internal)), internal);
  });

  it('refuses malformed node bytes with PFS_CORRUPT', () => {
    const enc = new TextEncoder();
    for (const text of ['not json', '{"l":[]}', '{"l":["/b",1,"/a",2]}', '{"h":1,"i":["/a","nothex"]}', '{"h":0,"i":["/a","' + 'a'.repeat(64) + '"]}', '[1]']) {
      assert.throws(
        () => decodeNode(enc.encode(text)),
        (err: unknown) => isSluiceError(err, 'PFS_CORRUPT'),
        text,
      );
    }
  });
});

describe('walkNodes', () => {
  async function tinyTree(): Promise<{ store: MemoryNodeStore; root: string }> {
    const store = new MemoryNodeStore();
    const ops: TreeOp[] = [];
    for (let i = 0; i < 500; i++) ops.push({ key: `/f/${String(i).padStart(4, '0')}`, value: i });
    const { root, newNodes } = await apply(store, null, ops, { limits: TINY });
    store.putAll(newNodes);
    assert.ok(root !== null);
    return { store, root };
  }

  it('visits every node of the tree once', async () => {
    const { store, root } = await tinyTree();
    const seen: string[] = [];
    await walkNodes(store, root, (hash) => {
      seen.push(hash);
      return true;
    });
    assert.equal(seen.length, store.size);
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(seen[0], root);
  });

  it('skips the children of a node whose visit returns false', async () => {
    const { store, root } = await tinyTree();
    let visits = 0;
    await walkNodes(store, root, () => {
      visits++;
      return false;
    });
    assert.equal(visits, 1);
  });

  it('detects a node whose bytes do not hash to its name', async () => {
    const { store, root } = await tinyTree();
    const victim = [...store.hashes()].find((h) => h !== root)!;
    const bytes = Uint8Array.from(await store.getNode(victim));
    const at = bytes.length - 3;
    bytes[at] = bytes[at]! ^ 1;
    store.put(victim, bytes);
    await rejects(
      walkNodes(store, root, () => true),
      'PFS_CORRUPT',
    );
    // Reads through the cache verify too.
    await rejects(collect(range(new CachedNodeReader(store), root)), 'PFS_CORRUPT');
  });

  it('reports a missing node as PFS_CORRUPT', async () => {
    const { store, root } = await tinyTree();
    store.delete([...store.hashes()].find((h) => h !== root)!);
    await rejects(
      walkNodes(store, root, () => true),
      'PFS_CORRUPT',
    );
  });
});

describe('btree values and ops', () => {
  it('stores a value larger than the largest leaf in a leaf of its own', async () => {
    const store = new MemoryNodeStore();
    const huge = { chunks: Array.from({ length: 3000 }, (_, i) => ({ h: i.toString(16).padStart(64, '0'), s: 1 << 20 })) };
    const ops: TreeOp[] = [];
    for (let i = 0; i < 3000; i++) ops.push({ key: `/f/${String(i).padStart(4, '0')}`, value: i % 1000 === 500 ? huge : { s: i } });
    let { root, newNodes } = await apply(store, null, ops);
    store.putAll(newNodes);
    const limits = { leafMaxBytes: 65536, internalMaxBytes: 65536, internalMaxFanout: 512 };
    await checkTree(store, root, limits, false);
    assert.deepEqual(await get(store, root, '/f/1500'), huge);
    assert.deepEqual(await get(store, root, '/f/1501'), { s: 1501 });
    // Growing a small value into a huge one splits its leaf around it.
    ({ root, newNodes } = await apply(store, root, [{ key: '/f/0100', value: huge }]));
    store.putAll(newNodes);
    await checkTree(store, root, limits, false);
    const all = await collect(range(store, root));
    assert.equal(all.length, 3000);
    assert.deepEqual(all[100], ['/f/0100', huge]);
  });

  it('refuses ops that are not sorted or repeat a key', async () => {
    const store = new MemoryNodeStore();
    await rejects(
      apply(store, null, [
        { key: '/b', value: 1 },
        { key: '/a', value: 1 },
      ]),
      'INVALID_ARGUMENT',
    );
    await rejects(
      apply(store, null, [
        { key: '/a', value: 1 },
        { key: '/a', value: 2 },
      ]),
      'INVALID_ARGUMENT',
    );
  });

  it('refuses values that are not JSON', async () => {
    const store = new MemoryNodeStore();
    const bad: unknown[] = [Number.NaN, undefined, new Date(0), { a: () => 1 }, [1, Infinity]];
    for (const value of bad) await rejects(apply(store, null, [{ key: '/a', value: value as Value }]), 'INVALID_ARGUMENT');
  });

  it('returns the tree unchanged for an empty batch and an empty tree for deletes only', async () => {
    const store = new MemoryNodeStore();
    assert.deepEqual(await apply(store, null, []), { root: null, newNodes: new Map() });
    assert.deepEqual(await apply(store, null, [{ key: '/a', value: null }]), { root: null, newNodes: new Map() });
    assert.equal(await get(store, null, '/a'), undefined);
    assert.equal(await seekGE(store, null, '/a'), undefined);
    assert.deepEqual(await collect(range(store, null)), []);
    assert.deepEqual(await collect(diff(store, null, null)), []);
  });

  it('lists a directory by skipping over its subdirectories with seekGE', async () => {
    const store = new MemoryNodeStore();
    const keys = ['/a/', '/a/1', '/a/b/', '/a/b/2', '/a/b/3', '/a/c', '/b/'];
    const { root, newNodes } = await apply(
      store,
      null,
      keys.map((key) => ({ key, value: key.endsWith('/') ? 'dir' : 'file' })),
    );
    store.putAll(newNodes);
    const listed: string[] = [];
    // '0' is the character after '/', so '/a/b0' is the first key past everything under '/a/b/'.
    for (let next = await seekGE(store, root, '/a/\u0000'); next !== undefined && next[0].startsWith('/a/'); ) {
      listed.push(next[0]);
      next = await seekGE(store, root, next[0].endsWith('/') ? next[0].slice(0, -1) + '0' : next[0] + '\u0000');
    }
    assert.deepEqual(listed, ['/a/1', '/a/b/', '/a/c']);
  });
});

describe('CachedNodeReader', () => {
  it('evicts the least recently used node beyond its capacity', async () => {
    const store = new MemoryNodeStore();
    const hashes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const bytes = encodeNode({ kind: 'leaf', keys: [`/${i}`], values: [i] });
      const hash = hashBytes(bytes);
      store.put(hash, bytes);
      hashes.push(hash);
    }
    const [h0, h1, h2, h3] = hashes as [string, string, string, string];
    const cache = new CachedNodeReader(store, { maxNodes: 2 });
    await cache.getDecodedNode(h0);
    await cache.getDecodedNode(h1);
    await cache.getDecodedNode(h0); // h1 is now the least recently used
    await cache.getDecodedNode(h2);
    assert.equal(cache.size, 2);
    assert.deepEqual(cache.stats, { hits: 1, misses: 3 });
    await cache.getDecodedNode(h0);
    assert.equal(cache.stats.misses, 3);
    await cache.getDecodedNode(h1);
    assert.equal(cache.stats.misses, 4);
    await cache.getDecodedNode(h3);
    assert.equal(cache.stats.misses, 5);
  });

  it('holds the nodes apply builds exactly as they decode from their bytes', async () => {
    const store = new MemoryNodeStore();
    const cache = new CachedNodeReader(store);
    let root: string | null = null;
    for (let round = 0; round < 5; round++) {
      const ops: TreeOp[] = [];
      for (let i = 0; i < 40; i++) ops.push({ key: `/r/${String(i * 5 + round).padStart(4, '0')}`, value: { z: round, a: [i, null, 'x'] } });
      const result = await apply(cache, root, ops, { limits: TINY });
      store.putAll(result.newNodes);
      for (const [hash, bytes] of result.newNodes) assert.deepEqual(await cache.getDecodedNode(hash), decodeNode(bytes));
      root = result.root;
    }
    assert.ok(cache.stats.hits > 0);
  });

  it('serves several readers from one shared cache', async () => {
    const store = new MemoryNodeStore();
    const bytes = encodeNode({ kind: 'leaf', keys: ['/x'], values: [1] });
    const hash = hashBytes(bytes);
    store.put(hash, bytes);
    const cache = new NodeCache();
    const first = new CountingReader(store);
    const second = new CountingReader(store);
    await new CachedNodeReader(first, cache).getDecodedNode(hash);
    await new CachedNodeReader(second, cache).getDecodedNode(hash);
    assert.equal(first.reads, 1);
    assert.equal(second.reads, 0);
  });

  it('shares one read among concurrent loads of a node', async () => {
    const store = new MemoryNodeStore();
    const bytes = encodeNode({ kind: 'leaf', keys: ['/x'], values: [1] });
    const hash = hashBytes(bytes);
    store.put(hash, bytes);
    const counting = new CountingReader(store);
    const cache = new CachedNodeReader(counting);
    const nodes = await Promise.all([cache.getDecodedNode(hash), cache.getDecodedNode(hash), cache.getDecodedNode(hash)]);
    assert.equal(counting.reads, 1);
    assert.equal(nodes[0], nodes[2]);
  });
});
