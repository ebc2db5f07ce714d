/**
 * The persistent sorted map behind every commit's file tree: an immutable, content-addressed
 * B+tree from string keys (compared with plain `<`) to JSON values.
 *
 * Promises:
 * - Nodes are immutable and named by the SHA-256 (hex) of their encoded bytes. The encoding is
 *   deterministic: the same node content always gives the same bytes (values are written with
 *   their object keys sorted), so a tree built the same way always gets the same root hash.
 * - `apply` copies only the paths from the root to the changed leaves (structural sharing): k
 *   changes to a tree of n keys read and write O(k log n) nodes, never O(n). It batches: each
 *   affected subtree is visited once however many ops land in it, so building a million-key tree
 *   from empty is one pass. It writes nothing; it returns the new nodes so the caller can store
 *   them in the same metadata transaction that moves a branch head (DESIGN.md invariants 1, 2).
 * - The tree stays balanced (every leaf at the same depth), holds no empty nodes and no root with
 *   a single child, and merges an underfull node with a sibling, so deletes do not leave a
 *   sparse tree behind.
 * - `get`, `seekGE` cost O(log n) node reads; `range` O(log n + results); `diff` skips every
 *   subtree whose hash is equal on both sides, so two commits that differ by one file compare
 *   in O(log n) reads.
 * - Every node read is verified against its name; a mismatch, a missing node or malformed bytes
 *   is PFS_CORRUPT.
 *
 * Node format (UTF-8 JSON, no whitespace):
 *   leaf      {"l":[key0,value0,key1,value1,...]}            keys strictly ascending, >= 1 entry
 *   internal  {"h":height,"i":[key0,hash0,key1,hash1,...]}   height >= 1 (leaves are height 0)
 * In an internal node, `key_i` is exactly the smallest key stored under child `i`, so child `i`
 * holds the keys in [key_i, key_{i+1}). Exact first keys let `diff` line up subtrees of two
 * trees by key, and the height lets it line up trees of different depths.
 *
 * Leaves are split by encoded size (target 32 KiB, at most 64 KiB, unless a single entry is
 * larger on its own) and internal nodes by fan-out (target 256, at most 512 children, fewer when
 * keys are long so that they stay under 64 KiB too). A node below a quarter of its maximum is
 * underfull and is merged with (or rebalanced against) a neighbour.
 *
 * A top-level value of `null` in an op means "delete", so `null` itself is never stored; it may
 * appear nested inside a value. Values handed out by `get`, `range` and `diff` are shared with
 * the node cache and must not be mutated (their type is read-only for that reason).
 */
import { createHash } from 'node:crypto';
import { SluiceError } from '../../errors/index.js';
import type { DecodedNodeReader, NodeReader } from './node-store.js';

// ---------------------------------------------------------------------------------------------
// Types

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type Value = JsonValue;

export interface LeafNode {
  readonly kind: 'leaf';
  readonly keys: readonly string[];
  readonly values: readonly Value[];
}

export interface InternalNode {
  readonly kind: 'internal';
  /** Distance to the leaves: 1 for a node whose children are leaves. */
  readonly height: number;
  /** `keys[i]` is the smallest key under `children[i]`. */
  readonly keys: readonly string[];
  readonly children: readonly string[];
}

export type TreeNode = LeafNode | InternalNode;

/** One change: set `key` to `value`, or delete it when `value` is `null`. */
export interface TreeOp {
  readonly key: string;
  readonly value: Value | null;
}

export interface ApplyResult {
  /** The new root; `null` for an empty tree. */
  root: string | null;
  /** Every node the new tree has and the old one did not, by hash. */
  newNodes: Map<string, Uint8Array>;
}

/** Node size limits. Targets are half the maximum, and a node under a quarter is underfull. */
export interface TreeLimits {
  leafMaxBytes: number;
  internalMaxBytes: number;
  internalMaxFanout: number;
}

export const DEFAULT_TREE_LIMITS: Readonly<TreeLimits> = Object.freeze({
  leafMaxBytes: 64 * 1024,
  internalMaxBytes: 64 * 1024,
  internalMaxFanout: 512,
});

export interface ApplyOptions {
  /**
   * Overrides the node size limits. Production code keeps the defaults (the shape of a tree, and
   * so its hashes, depends on them); tests pass tiny limits to exercise deep trees cheaply.
   */
  limits?: Partial<TreeLimits>;
}

export interface RangeOptions {
  gte?: string;
  gt?: string;
  lt?: string;
  /** Only keys that start with this string. */
  prefix?: string;
}

export interface DiffOptions {
  /** Only keys that start with this string. */
  prefix?: string;
}

export interface DiffEntry {
  key: string;
  /** The value in the first tree; `undefined` when the key was added. */
  before: Value | undefined;
  /** The value in the second tree; `undefined` when the key was deleted. */
  after: Value | undefined;
}

// ---------------------------------------------------------------------------------------------
// Encoding, hashing, verification

const HASH_RE = /^[0-9a-f]{64}$/;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
// Bytes an internal entry adds besides its key's JSON: `,"<64 hex>",` (the trailing comma is the
// separator to the next entry).
const INTERNAL_ENTRY_OVERHEAD = 68;
// Bytes around a leaf's entries: `{"l":[` and `]}`, less the separator the last entry lacks.
const LEAF_FRAME_BYTES = 7;

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Throws PFS_CORRUPT unless `bytes` hash to `hash`. */
export function verifyNode(hash: string, bytes: Uint8Array): void {
  const actual = hashBytes(bytes);
  if (actual !== hash) {
    throw new SluiceError('PFS_CORRUPT', `tree node ${hash} is corrupt: its bytes hash to ${actual}`, { details: { hash, actual } });
  }
}

/** The deterministic bytes of a node. Throws INVALID_ARGUMENT for a node that breaks the format. */
export function encodeNode(node: TreeNode): Uint8Array {
  const n = node.keys.length;
  if (n === 0) throw new SluiceError('INVALID_ARGUMENT', 'a tree node must have at least one entry');
  for (let i = 1; i < n; i++) {
    if (!(node.keys[i - 1]! < node.keys[i]!)) throw new SluiceError('INVALID_ARGUMENT', 'tree node keys must be strictly ascending');
  }
  const parts = new Array<string>(n);
  if (node.kind === 'leaf') {
    if (node.values.length !== n) throw new SluiceError('INVALID_ARGUMENT', 'a leaf needs one value per key');
    for (let i = 0; i < n; i++) parts[i] = entryJson(node.keys[i]!, node.values[i]!);
    return utf8Encoder.encode(leafText(parts));
  }
  if (!Number.isInteger(node.height) || node.height < 1) throw new SluiceError('INVALID_ARGUMENT', 'an internal node has height >= 1');
  if (node.children.length !== n) throw new SluiceError('INVALID_ARGUMENT', 'an internal node needs one child per key');
  for (let i = 0; i < n; i++) {
    const child = node.children[i]!;
    if (!HASH_RE.test(child)) throw new SluiceError('INVALID_ARGUMENT', `child ${JSON.stringify(child)} is not a node hash`);
    parts[i] = JSON.stringify(node.keys[i]!) + ',"' + child + '"';
  }
  return utf8Encoder.encode(internalText(node.height, parts));
}

/** Parses node bytes. Does not check the hash (see `verifyNode`); malformed bytes are PFS_CORRUPT. */
export function decodeNode(bytes: Uint8Array, hash?: string): TreeNode {
  const where = hash === undefined ? 'tree node' : `tree node ${hash}`;
  const corrupt = (why: string, cause?: unknown): SluiceError =>
    new SluiceError('PFS_CORRUPT', `${where} is malformed: ${why}`, { details: hash === undefined ? {} : { hash }, cause });
  let doc: unknown;
  try {
    doc = JSON.parse(utf8Decoder.decode(bytes));
  } catch (err) {
    throw corrupt('not UTF-8 JSON', err);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt('not an object');
  const rec = doc as Record<string, unknown>;
  const leaf = rec['l'];
  const inner = rec['i'];
  const list = leaf ?? inner;
  if (!Array.isArray(list) || list.length === 0 || list.length % 2 !== 0) throw corrupt('no entry list');
  const n = list.length / 2;
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const key: unknown = list[2 * i];
    if (typeof key !== 'string') throw corrupt(`key ${i} is not a string`);
    if (i > 0 && !(keys[i - 1]! < key)) throw corrupt('keys are not strictly ascending');
    keys[i] = key;
  }
  if (leaf !== undefined) {
    if (Object.keys(rec).length !== 1) throw corrupt('unexpected fields in a leaf');
    const values = new Array<Value>(n);
    for (let i = 0; i < n; i++) values[i] = list[2 * i + 1] as Value;
    return { kind: 'leaf', keys, values };
  }
  const height = rec['h'];
  if (typeof height !== 'number' || !Number.isInteger(height) || height < 1 || Object.keys(rec).length !== 2) {
    throw corrupt('bad internal node header');
  }
  const children = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const child: unknown = list[2 * i + 1];
    if (typeof child !== 'string' || !HASH_RE.test(child)) throw corrupt(`child ${i} is not a node hash`);
    children[i] = child;
  }
  return { kind: 'internal', height, keys, children };
}

function leafText(entries: readonly string[]): string {
  return '{"l":[' + entries.join(',') + ']}';
}

function internalText(height: number, entries: readonly string[]): string {
  return '{"h":' + String(height) + ',"i":[' + entries.join(',') + ']}';
}

/** One leaf entry as it appears in the node: `"key",value`, the value in canonical JSON. */
function entryJson(key: string, value: unknown): string {
  return JSON.stringify(key) + ',' + canonicalJson(key, value);
}

const MAX_VALUE_DEPTH = 256;

/**
 * Canonical JSON text of a value, validating it on the way: equal values always give equal text
 * whatever order their object keys were built in. Throws INVALID_ARGUMENT for anything that is
 * not plain JSON (NaN, functions, class instances, sparse arrays, cycles). As in JSON, an object
 * property whose value is `undefined` is left out.
 *
 * Object keys are ordered the way a JavaScript engine orders the keys of the object that
 * `JSON.parse` builds from the text: array-index keys ("0", "7", "10") first in numeric order,
 * then the others sorted. So a decoded value re-encodes with `JSON.stringify` to the very same
 * text, which is what lets an update reuse (and compare) the encodings of untouched entries.
 */
function canonicalJson(key: string, value: unknown, depth = 0): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw notJson(key, `the number ${String(value)}`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_VALUE_DEPTH) throw notJson(key, `nesting deeper than ${MAX_VALUE_DEPTH} (or a cycle)`);
      if (Array.isArray(value)) {
        let text = '[';
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw notJson(key, 'a sparse array');
          if (i > 0) text += ',';
          text += canonicalJson(key, value[i], depth + 1);
        }
        return text + ']';
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw notJson(key, 'an object that is not a plain object');
      const rec = value as Record<string, unknown>;
      const keys = Object.keys(rec);
      for (let i = 1; i < keys.length; i++) {
        if (compareObjectKeys(keys[i - 1]!, keys[i]!) > 0) {
          keys.sort(compareObjectKeys);
          break;
        }
      }
      let text = '{';
      for (const k of keys) {
        const v = rec[k];
        if (v === undefined) continue;
        if (text.length > 1) text += ',';
        text += JSON.stringify(k) + ':' + canonicalJson(key, v, depth + 1);
      }
      return text + '}';
    }
    default:
      throw notJson(key, `a value of type ${typeof value}`);
  }
}

/** The numeric value of an array-index key ("0" .. "4294967294"), or -1 for any other key. */
function arrayIndex(k: string): number {
  const n = k.length;
  if (n === 0 || n > 10) return -1;
  const c = k.charCodeAt(0);
  if (c < 48 || c > 57 || (c === 48 && n > 1)) return -1;
  for (let i = 1; i < n; i++) {
    const d = k.charCodeAt(i);
    if (d < 48 || d > 57) return -1;
  }
  const v = Number(k);
  return v < 4294967295 ? v : -1;
}

function compareObjectKeys(a: string, b: string): number {
  const ia = arrayIndex(a);
  const ib = arrayIndex(b);
  if (ia >= 0 || ib >= 0) {
    if (ia < 0) return 1;
    if (ib < 0) return -1;
    return ia - ib;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function notJson(key: string, what: string): SluiceError {
  return new SluiceError('INVALID_ARGUMENT', `the value for ${JSON.stringify(key)} is not JSON: it holds ${what}`, { details: { key } });
}

/** Structural equality of two JSON values. */
export function jsonEqual(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    const aa = a as readonly Value[];
    const bb = b as readonly Value[];
    for (let i = 0; i < aa.length; i++) if (!jsonEqual(aa[i]!, bb[i]!)) return false;
    return true;
  }
  const ra = a as { readonly [key: string]: Value };
  const rb = b as { readonly [key: string]: Value };
  const ka = Object.keys(ra);
  if (ka.length !== Object.keys(rb).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(rb, k) || !jsonEqual(ra[k]!, rb[k]!)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Loading nodes

async function loadNode(reader: NodeReader, hash: string): Promise<TreeNode> {
  const decoded = reader as Partial<DecodedNodeReader>;
  if (typeof decoded.getDecodedNode === 'function') return decoded.getDecodedNode(hash);
  const bytes = await reader.getNode(hash);
  verifyNode(hash, bytes);
  return decodeNode(bytes, hash);
}

function rememberOf(reader: NodeReader): RememberNode | null {
  const decoded = reader as Partial<DecodedNodeReader>;
  return typeof decoded.rememberNode === 'function' ? decoded.rememberNode.bind(reader) : null;
}

function heightOf(node: TreeNode): number {
  return node.kind === 'leaf' ? 0 : node.height;
}

function checkHeight(node: TreeNode, expected: number, hash: string): void {
  if (heightOf(node) !== expected) {
    throw new SluiceError('PFS_CORRUPT', `tree node ${hash} has height ${heightOf(node)} where ${expected} was expected`, {
      details: { hash },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Reading: get, seekGE, range

/** Index of the first key >= `key` (keys.length when none). */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the last key <= `key` (-1 when none). */
function lastAtMost(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The value stored under `key`, or undefined. O(depth) node reads. */
export async function get(reader: NodeReader, root: string | null, key: string): Promise<Value | undefined> {
  if (root === null) return undefined;
  let node = await loadNode(reader, root);
  while (node.kind === 'internal') {
    const i = lastAtMost(node.keys, key);
    // keys[0] is the smallest key in the tree below, so a smaller key is absent.
    if (i < 0) return undefined;
    node = await loadNode(reader, node.children[i]!);
  }
  const i = lowerBound(node.keys, key);
  return node.keys[i] === key ? node.values[i] : undefined;
}

/** A position in key order, walking leaf to leaf through the stack of ancestors. */
class Cursor {
  private readonly path: Array<{ node: InternalNode; index: number }> = [];
  private leaf: LeafNode | null = null;
  private index = 0;

  constructor(private readonly reader: NodeReader) {}

  /** Moves to the first entry with key >= `key`. */
  async seek(root: string, key: string): Promise<void> {
    let node = await loadNode(this.reader, root);
    while (node.kind === 'internal') {
      // The first key >= `key` is under the last child starting at or before `key`, or is the
      // first key of the next child; both are reached from here.
      const i = Math.max(0, lastAtMost(node.keys, key));
      this.path.push({ node, index: i });
      node = await loadNode(this.reader, node.children[i]!);
    }
    this.leaf = node;
    this.index = lowerBound(node.keys, key);
    if (this.index >= node.keys.length) await this.nextLeaf();
  }

  current(): [string, Value] | undefined {
    const leaf = this.leaf;
    if (leaf === null) return undefined;
    return [leaf.keys[this.index]!, leaf.values[this.index]!];
  }

  async next(): Promise<void> {
    if (this.leaf === null) return;
    this.index++;
    if (this.index >= this.leaf.keys.length) await this.nextLeaf();
  }

  private async nextLeaf(): Promise<void> {
    for (;;) {
      const top = this.path[this.path.length - 1];
      if (top === undefined) {
        this.leaf = null;
        return;
      }
      if (top.index + 1 < top.node.children.length) {
        top.index++;
        let node = await loadNode(this.reader, top.node.children[top.index]!);
        while (node.kind === 'internal') {
          this.path.push({ node, index: 0 });
          node = await loadNode(this.reader, node.children[0]!);
        }
        this.leaf = node;
        this.index = 0;
        return;
      }
      this.path.pop();
    }
  }
}

/** The first entry with key >= `key`, or undefined. O(depth) node reads. */
export async function seekGE(reader: NodeReader, root: string | null, key: string): Promise<[string, Value] | undefined> {
  if (root === null) return undefined;
  const cursor = new Cursor(reader);
  await cursor.seek(root, key);
  return cursor.current();
}

/** Entries within the bounds, in key order. O(depth + results) node reads. */
export async function* range(reader: NodeReader, root: string | null, opts: RangeOptions = {}): AsyncGenerator<[string, Value]> {
  if (root === null) return;
  const prefix = opts.prefix ?? '';
  let lower = prefix;
  if (opts.gte !== undefined && opts.gte > lower) lower = opts.gte;
  if (opts.gt !== undefined && opts.gt > lower) lower = opts.gt;
  if (opts.lt !== undefined && opts.lt <= lower) return;
  const cursor = new Cursor(reader);
  await cursor.seek(root, lower);
  for (let entry = cursor.current(); entry !== undefined; await cursor.next(), entry = cursor.current()) {
    const key = entry[0];
    if (opts.lt !== undefined && key >= opts.lt) return;
    // Keys with the prefix are contiguous and start at `prefix`, so the first one without it
    // ends the range.
    if (!key.startsWith(prefix)) return;
    if (opts.gt !== undefined && key <= opts.gt) continue;
    yield entry;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing: apply

interface Bounds {
  readonly max: number;
  readonly target: number;
  readonly min: number;
}

interface ApplyContext {
  readonly reader: NodeReader;
  readonly newNodes: Map<string, Uint8Array>;
  readonly leaf: Bounds;
  readonly internal: Bounds;
  /** The least weight an internal entry counts for, which is what caps the fan-out. */
  readonly floor: number;
  /** The reader's cache, when it takes new nodes in decoded form. */
  readonly remember: RememberNode | null;
  /**
   * How many more new leaves to hand to that cache. A small update's leaves are handed over;
   * a bulk build's thousands are not, as each costs a parse of its new values.
   */
  leafSeeds: number;
}

type RememberNode = (hash: string, node: TreeNode, size: number) => void;

const LEAF_SEEDS_PER_APPLY = 16;

/**
 * A child of an internal node being built: either an existing node (`hash`) or a draft not yet
 * encoded. Drafts are encoded only once the whole update is settled, so merging and splitting
 * them never leaves orphan nodes in `newNodes`.
 */
interface Kid {
  readonly key: string;
  readonly keyJson: string;
  /** Encoded bytes of this child's entry in its parent, before the fan-out floor. */
  readonly bytes: number;
  readonly hash: string | null;
  readonly draft: Draft | null;
}

/** The content of a new leaf; arrays are never mutated once built (they may be shared). */
interface LeafDraft {
  readonly kind: 'leaf';
  readonly height: 0;
  readonly keys: readonly string[];
  /** Each entry's encoding, `"key",value`. */
  readonly enc: readonly string[];
  /**
   * Each entry's decoded value when one is at hand (the entry came from a decoded node), else
   * `undefined` (a new value, known only by its encoding: the caller's object is never kept).
   */
  readonly values: readonly (Value | undefined)[];
  /** Each entry's weight: its encoded bytes plus the separator. */
  readonly w: readonly number[];
  readonly total: number;
}

interface InternalDraft {
  readonly kind: 'internal';
  readonly height: number;
  readonly kids: readonly Kid[];
  readonly total: number;
}

type Draft = LeafDraft | InternalDraft;

// Per decoded node, the pieces an update needs to rebuild it without re-parsing or re-encoding
// every entry. Computed on the first update that touches the node, kept as long as the node is.
const leafParts = new WeakMap<LeafNode, LeafDraft>();
const internalKids = new WeakMap<InternalNode, readonly Kid[]>();

const EMPTY_LEAF: LeafDraft = { kind: 'leaf', height: 0, keys: [], enc: [], values: [], w: [], total: 0 };

function leafDraftOf(node: LeafNode): LeafDraft {
  let draft = leafParts.get(node);
  if (draft === undefined) {
    const n = node.keys.length;
    const enc = new Array<string>(n);
    const w = new Array<number>(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const e = JSON.stringify(node.keys[i]!) + ',' + JSON.stringify(node.values[i]!);
      enc[i] = e;
      w[i] = Buffer.byteLength(e) + 1;
      total += w[i]!;
    }
    draft = { kind: 'leaf', height: 0, keys: node.keys, enc, values: node.values, w, total };
    leafParts.set(node, draft);
  }
  return draft;
}

function kidsOf(node: InternalNode): readonly Kid[] {
  let kids = internalKids.get(node);
  if (kids === undefined) {
    kids = node.keys.map((key, i) => refKid(key, node.children[i]!));
    internalKids.set(node, kids);
  }
  return kids;
}

function refKid(key: string, hash: string): Kid {
  const keyJson = JSON.stringify(key);
  return { key, keyJson, bytes: Buffer.byteLength(keyJson) + INTERNAL_ENTRY_OVERHEAD, hash, draft: null };
}

function draftKid(draft: Draft): Kid {
  if (draft.kind === 'internal') {
    const first = draft.kids[0]!;
    return { key: first.key, keyJson: first.keyJson, bytes: first.bytes, hash: null, draft };
  }
  const key = draft.keys[0]!;
  const keyJson = JSON.stringify(key);
  return { key, keyJson, bytes: Buffer.byteLength(keyJson) + INTERNAL_ENTRY_OVERHEAD, hash: null, draft };
}

function kidWeight(ctx: ApplyContext, kid: Kid): number {
  return kid.bytes > ctx.floor ? kid.bytes : ctx.floor;
}

function internalDraft(ctx: ApplyContext, height: number, kids: readonly Kid[]): InternalDraft {
  let total = 0;
  for (const kid of kids) total += kidWeight(ctx, kid);
  return { kind: 'internal', height, kids, total };
}

function isUnderfull(ctx: ApplyContext, d: Draft): boolean {
  return d.total < (d.kind === 'leaf' ? ctx.leaf.min : ctx.internal.min);
}

function resolveLimits(reader: NodeReader, limits: Partial<TreeLimits> | undefined): ApplyContext {
  const l = { ...DEFAULT_TREE_LIMITS, ...limits };
  for (const [name, v] of Object.entries(l)) {
    if (!Number.isInteger(v) || v < 4) throw new SluiceError('INVALID_ARGUMENT', `tree limit ${name} must be an integer >= 4`);
  }
  const bounds = (max: number): Bounds => ({ max, target: max / 2, min: max / 4 });
  return {
    reader,
    newNodes: new Map(),
    leaf: bounds(l.leafMaxBytes),
    internal: bounds(l.internalMaxBytes),
    floor: l.internalMaxBytes / l.internalMaxFanout,
    remember: rememberOf(reader),
    leafSeeds: LEAF_SEEDS_PER_APPLY,
  };
}

/**
 * Applies sorted, unique-keyed ops to the tree at `root` in one pass and returns the new root
 * and the nodes it needs that `root` did not have. Nothing is written through `reader`.
 *
 * @example
 *   const { root, newNodes } = await apply(reader, null, [{ key: '/a.txt', value: { size: 3 } }]);
 *   store.putAll(newNodes);
 */
export async function apply(reader: NodeReader, root: string | null, ops: readonly TreeOp[], options: ApplyOptions = {}): Promise<ApplyResult> {
  checkOps(ops);
  const ctx = resolveLimits(reader, options.limits);
  if (ops.length === 0) return { root, newNodes: ctx.newNodes };
  const drafts = root === null ? mergeLeaf(ctx, EMPTY_LEAF, ops, 0, ops.length) : await applyNode(ctx, root, null, ops, 0, ops.length);
  if (drafts === null) return { root, newNodes: ctx.newNodes };
  const first = drafts[0];
  if (first === undefined) return { root: null, newNodes: ctx.newNodes };

  // The old root may have split into several nodes: grow new levels until one node is left.
  let height = first.height;
  let level = await fixUnderfull(ctx, drafts.map(draftKid));
  while (level.length > 1) {
    height++;
    level = splitDraft(ctx, internalDraft(ctx, height, level)).map(draftKid);
  }
  let top = level[0];
  if (top === undefined) return { root: null, newNodes: ctx.newNodes };
  // A root with one child is replaced by that child, as often as needed.
  for (;;) {
    if (top.draft !== null) {
      if (top.draft.kind !== 'internal' || top.draft.kids.length !== 1) break;
      top = top.draft.kids[0]!;
    } else {
      const node = await loadNode(reader, top.hash!);
      if (node.kind !== 'internal' || node.children.length !== 1) break;
      top = kidsOf(node)[0]!;
    }
  }
  const newRoot = top.hash ?? finalize(ctx, top.draft!);
  return { root: newRoot, newNodes: ctx.newNodes };
}

function checkOps(ops: readonly TreeOp[]): void {
  for (let i = 0; i < ops.length; i++) {
    const key: unknown = ops[i]!.key;
    if (typeof key !== 'string') throw new SluiceError('INVALID_ARGUMENT', `op ${i} has a key that is not a string`);
    if (i > 0 && !(ops[i - 1]!.key < key)) {
      throw new SluiceError('INVALID_ARGUMENT', `ops must be sorted by key with no duplicates: ${JSON.stringify(key)} follows ${JSON.stringify(ops[i - 1]!.key)}`, {
        details: { index: i, key },
      });
    }
  }
}

/**
 * Applies ops[from, to) to the subtree at `hash`. Returns null when nothing changed (the caller
 * keeps the existing node), otherwise the drafts replacing it, all of the same height: none when
 * the subtree emptied, several when it split.
 */
async function applyNode(ctx: ApplyContext, hash: string, height: number | null, ops: readonly TreeOp[], from: number, to: number): Promise<Draft[] | null> {
  const node = await loadNode(ctx.reader, hash);
  if (height !== null) checkHeight(node, height, hash);
  if (node.kind === 'leaf') return mergeLeaf(ctx, leafDraftOf(node), ops, from, to);

  // Hand each child the ops that fall in its key range; ops below the first key go to the first
  // child. One descent per affected child, however many ops it takes.
  const groups: Array<{ child: number; from: number; to: number }> = [];
  for (let j = from; j < to; ) {
    const child = Math.max(0, lastAtMost(node.keys, ops[j]!.key));
    const next = node.keys[child + 1];
    const end = next === undefined ? to : opsBelow(ops, j, to, next);
    groups.push({ child, from: j, to: end });
    j = end;
  }
  const results = await mapInWindows(groups, 32, (g) => applyNode(ctx, node.children[g.child]!, node.height - 1, ops, g.from, g.to));
  if (results.every((r) => r === null)) return null;

  const existing = kidsOf(node);
  const kids: Kid[] = [];
  let g = 0;
  for (let i = 0; i < existing.length; i++) {
    const result = groups[g]?.child === i ? results[g++] : null;
    if (result === null || result === undefined) kids.push(existing[i]!);
    else for (const d of result) kids.push(draftKid(d));
  }
  const fixed = await fixUnderfull(ctx, kids);
  if (fixed.length === 0) return [];
  return splitDraft(ctx, internalDraft(ctx, node.height, fixed));
}

/** Index of the first op in [from, to) whose key is >= `bound`. */
function opsBelow(ops: readonly TreeOp[], from: number, to: number, bound: string): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ops[mid]!.key < bound) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

async function mapInWindows<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  // Sibling subtrees load in parallel (a remote object store answers many reads at once), in
  // bounded windows so a huge batch does not open thousands of reads together.
  if (items.length <= width) return Promise.all(items.map(fn));
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    for (const r of await Promise.all(items.slice(i, i + width).map(fn))) out.push(r);
  }
  return out;
}

/** Merges a leaf's entries with ops[from, to). Null when the leaf is unchanged. */
function mergeLeaf(ctx: ApplyContext, base: LeafDraft, ops: readonly TreeOp[], from: number, to: number): Draft[] | null {
  const bk = base.keys;
  const n = bk.length;
  const keys: string[] = [];
  const enc: string[] = [];
  const values: Array<Value | undefined> = [];
  const w: number[] = [];
  let total = 0;
  let changed = false;
  const push = (key: string, e: string, value: Value | undefined, weight: number): void => {
    keys.push(key);
    enc.push(e);
    values.push(value);
    w.push(weight);
    total += weight;
  };
  let i = 0;
  let j = from;
  while (i < n || j < to) {
    const op = j < to ? ops[j]! : undefined;
    const key = i < n ? bk[i]! : undefined;
    if (op === undefined || (key !== undefined && key < op.key)) {
      push(key!, base.enc[i]!, base.values[i], base.w[i]!);
      i++;
    } else if (key === undefined || op.key < key) {
      if (op.value !== null) {
        const e = entryJson(op.key, op.value);
        push(op.key, e, undefined, Buffer.byteLength(e) + 1);
        changed = true;
      }
      j++;
    } else {
      if (op.value === null) {
        changed = true;
      } else {
        // Canonical encodings are equal exactly when the values are, so this also spots an op
        // that rewrites a value unchanged (and leaves the node, and its hash, alone).
        const e = entryJson(op.key, op.value);
        if (e === base.enc[i]) {
          push(key, e, base.values[i], base.w[i]!);
        } else {
          push(key, e, undefined, Buffer.byteLength(e) + 1);
          changed = true;
        }
      }
      i++;
      j++;
    }
  }
  if (!changed) return null;
  if (keys.length === 0) return [];
  return splitDraft(ctx, { kind: 'leaf', height: 0, keys, enc, values, w, total });
}

/**
 * Cuts a draft that is over its maximum into pieces near the target size (balanced, so a node
 * that just overflowed splits in two halves, and a bulk build packs nodes to the target).
 */
function splitDraft(ctx: ApplyContext, d: Draft): Draft[] {
  if (d.kind === 'leaf') {
    const ranges = splitRanges(d.w, d.total, ctx.leaf);
    if (ranges.length === 1) return [d];
    return ranges.map(([s, e]) => {
      const w = d.w.slice(s, e);
      return { kind: 'leaf', height: 0, keys: d.keys.slice(s, e), enc: d.enc.slice(s, e), values: d.values.slice(s, e), w, total: sum(w) };
    });
  }
  const weights = d.kids.map((k) => kidWeight(ctx, k));
  const ranges = splitRanges(weights, d.total, ctx.internal);
  if (ranges.length === 1) return [d];
  return ranges.map(([s, e]) => internalDraft(ctx, d.height, d.kids.slice(s, e)));
}

function sum(xs: readonly number[]): number {
  let t = 0;
  for (const x of xs) t += x;
  return t;
}

/** [start, end) index ranges cutting weights into pieces of at most `max` (single entries excepted). */
function splitRanges(w: readonly number[], total: number, b: Bounds): Array<[number, number]> {
  const n = w.length;
  if (total <= b.max || n <= 1) return [[0, n]];
  let pieces = Math.max(2, Math.round(total / b.target));
  let remaining = total;
  let goal = remaining / pieces;
  const out: Array<[number, number]> = [];
  let start = 0;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    // Close the piece before entry i when i would overflow it, or would end up mostly past the
    // goal. The goal is recomputed from what is left so that the last pieces come out even.
    if (acc > 0 && (acc + wi > b.max || acc + wi / 2 > goal)) {
      out.push([start, i]);
      remaining -= acc;
      pieces = Math.max(1, pieces - 1);
      goal = remaining / pieces;
      start = i;
      acc = 0;
    }
    acc += wi;
  }
  out.push([start, n]);
  return out;
}

/**
 * Merges every underfull draft among siblings with a neighbour, preferring a neighbour that is
 * itself a draft (no read, no extra node) and otherwise reading one existing sibling. The merged
 * content is re-split when it overflows, which rebalances the two. Existing nodes are left as
 * they are: only drafts can be underfull by this update's doing.
 */
async function fixUnderfull(ctx: ApplyContext, items: readonly Kid[]): Promise<Kid[]> {
  if (items.length < 2) return items.slice();
  const out: Kid[] = [];
  let carry: Draft | null = null;
  for (const item of items) {
    let cur = item;
    if (carry !== null) {
      const pieces = splitDraft(ctx, await mergeDrafts(ctx, carry, await toDraft(ctx, item)));
      carry = null;
      for (let p = 0; p < pieces.length - 1; p++) out.push(draftKid(pieces[p]!));
      cur = draftKid(pieces[pieces.length - 1]!);
    }
    if (cur.draft === null || !isUnderfull(ctx, cur.draft)) {
      out.push(cur);
      continue;
    }
    const prev = out[out.length - 1];
    if (prev === undefined || prev.draft === null) {
      carry = cur.draft;
      continue;
    }
    out.pop();
    const pieces = splitDraft(ctx, await mergeDrafts(ctx, prev.draft, cur.draft));
    for (let p = 0; p < pieces.length - 1; p++) out.push(draftKid(pieces[p]!));
    const last = pieces[pieces.length - 1]!;
    if (isUnderfull(ctx, last)) carry = last;
    else out.push(draftKid(last));
  }
  if (carry !== null) {
    const prev = out.pop();
    if (prev === undefined) {
      out.push(draftKid(carry));
    } else {
      for (const piece of splitDraft(ctx, await mergeDrafts(ctx, await toDraft(ctx, prev), carry))) out.push(draftKid(piece));
    }
  }
  return out;
}

/** The content of a child as a draft: itself, or the existing node read in. */
async function toDraft(ctx: ApplyContext, kid: Kid): Promise<Draft> {
  if (kid.draft !== null) return kid.draft;
  const node = await loadNode(ctx.reader, kid.hash!);
  return node.kind === 'leaf' ? leafDraftOf(node) : internalDraft(ctx, node.height, kidsOf(node));
}

/** Concatenates two adjacent drafts of one height (a before b). */
async function mergeDrafts(ctx: ApplyContext, a: Draft, b: Draft): Promise<Draft> {
  if (a.kind === 'leaf' && b.kind === 'leaf') {
    return {
      kind: 'leaf',
      height: 0,
      keys: a.keys.concat(b.keys),
      enc: a.enc.concat(b.enc),
      values: a.values.concat(b.values),
      w: a.w.concat(b.w),
      total: a.total + b.total,
    };
  }
  if (a.kind === 'internal' && b.kind === 'internal' && a.height === b.height) {
    // Where the two meet, a lone underfull child of one (left behind because it had no sibling
    // of its own) now has a neighbour: fix that seam one level down.
    return internalDraft(ctx, a.height, await fixUnderfull(ctx, a.kids.concat(b.kids)));
  }
  throw new SluiceError('PFS_CORRUPT', `tree is unbalanced: cannot merge nodes of heights ${a.height} and ${b.height}`);
}

/** Encodes a draft and the drafts below it, records them as new nodes, and returns its hash. */
function finalize(ctx: ApplyContext, d: Draft): string {
  let text: string;
  let children: string[] | null = null;
  if (d.kind === 'leaf') {
    text = leafText(d.enc);
  } else {
    const n = d.kids.length;
    const parts = new Array<string>(n);
    children = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const kid = d.kids[i]!;
      const hash = kid.hash ?? finalize(ctx, kid.draft!);
      children[i] = hash;
      parts[i] = kid.keyJson + ',"' + hash + '"';
    }
    text = internalText(d.height, parts);
  }
  const bytes = utf8Encoder.encode(text);
  const hash = hashBytes(bytes);
  ctx.newNodes.set(hash, bytes);
  if (ctx.remember !== null) {
    if (d.kind === 'internal') rememberInternal(ctx.remember, hash, d, children!, bytes.length);
    else if (ctx.leafSeeds-- > 0) rememberLeaf(ctx.remember, hash, d, bytes.length);
  }
  return hash;
}

/**
 * Hands a new internal node, already in decoded form, to the reader's cache: the next update of
 * this branch starts from this very root and path, and need not read and parse them back.
 */
function rememberInternal(remember: RememberNode, hash: string, d: InternalDraft, children: readonly string[], size: number): void {
  const n = d.kids.length;
  const keys = new Array<string>(n);
  const kids = new Array<Kid>(n);
  for (let i = 0; i < n; i++) {
    const kid = d.kids[i]!;
    keys[i] = kid.key;
    kids[i] = kid.hash === null ? { key: kid.key, keyJson: kid.keyJson, bytes: kid.bytes, hash: children[i]!, draft: null } : kid;
  }
  const node: InternalNode = { kind: 'internal', height: d.height, keys, children };
  internalKids.set(node, kids);
  remember(hash, node, size);
}

/**
 * Hands a new leaf to the reader's cache, for the same reason: a stream of commits that append
 * to one directory rewrites the same leaf every time. Only the new values need parsing (from
 * their canonical text, so the cache never holds the caller's objects); the rest are shared
 * with the leaf's previous version.
 */
function rememberLeaf(remember: RememberNode, hash: string, d: LeafDraft, size: number): void {
  const n = d.keys.length;
  const values = new Array<Value>(n);
  for (let i = 0; i < n; i++) {
    const known = d.values[i];
    values[i] = known !== undefined ? known : (JSON.parse(d.enc[i]!.slice(JSON.stringify(d.keys[i]!).length + 1)) as Value);
  }
  const node: LeafNode = { kind: 'leaf', keys: d.keys, values };
  leafParts.set(node, { ...d, values });
  remember(hash, node, size);
}

// ---------------------------------------------------------------------------------------------
// diff

/** An item of one side's frontier: a whole subtree not yet opened, or one entry. */
type Frontier = Array<
  | { readonly node: true; readonly hash: string; readonly height: number; readonly key: string; readonly hi: string | null }
  | { readonly node: false; readonly key: string; readonly value: Value }
>;

/**
 * Keys that differ between two trees, in key order. Both sides are walked as frontiers of
 * unopened subtrees; two subtrees that start at the same key with the same hash hold the same
 * entries and are skipped unopened, so trees that share structure compare in reads proportional
 * to their differences.
 */
export async function* diff(reader: NodeReader, rootA: string | null, rootB: string | null, opts: DiffOptions = {}): AsyncGenerator<DiffEntry> {
  if (rootA === rootB) return;
  const prefix = opts.prefix ?? '';
  const a: Frontier = [];
  const b: Frontier = [];
  if (rootA !== null) await open(reader, a, rootA, null, null, prefix);
  if (rootB !== null) await open(reader, b, rootB, null, null, prefix);
  for (;;) {
    const x = a[a.length - 1];
    const y = b[b.length - 1];
    if (x === undefined && y === undefined) return;
    if (y === undefined || (x !== undefined && x.key < y.key)) {
      // x starts before anything left in b: its entries are gone from b.
      a.pop();
      if (x!.node) await open(reader, a, x!.hash, x!.height, x!.hi, prefix);
      else yield { key: x!.key, before: x!.value, after: undefined };
      continue;
    }
    if (x === undefined || y.key < x.key) {
      b.pop();
      if (y.node) await open(reader, b, y.hash, y.height, y.hi, prefix);
      else yield { key: y.key, before: undefined, after: y.value };
      continue;
    }
    // Both start at the same key.
    if (x.node && y.node) {
      a.pop();
      b.pop();
      if (x.hash === y.hash) continue;
      // Open the taller side first so that subtrees of equal height meet and can be compared.
      if (x.height >= y.height) await open(reader, a, x.hash, x.height, x.hi, prefix);
      else a.push(x);
      if (y.height >= x.height) await open(reader, b, y.hash, y.height, y.hi, prefix);
      else b.push(y);
    } else if (x.node) {
      a.pop();
      await open(reader, a, x.hash, x.height, x.hi, prefix);
    } else if (y.node) {
      b.pop();
      await open(reader, b, y.hash, y.height, y.hi, prefix);
    } else {
      a.pop();
      b.pop();
      if (!jsonEqual(x.value, y.value)) yield { key: x.key, before: x.value, after: y.value };
    }
  }
}

/** Pushes a node's children (or entries) onto a frontier, last first, dropping what lies outside the prefix. */
async function open(reader: NodeReader, frontier: Frontier, hash: string, height: number | null, hi: string | null, prefix: string): Promise<void> {
  const node = await loadNode(reader, hash);
  if (height !== null) checkHeight(node, height, hash);
  const n = node.keys.length;
  if (node.kind === 'leaf') {
    for (let i = n - 1; i >= 0; i--) {
      const key = node.keys[i]!;
      if (key.startsWith(prefix)) frontier.push({ node: false, key, value: node.values[i]! });
    }
    return;
  }
  for (let i = n - 1; i >= 0; i--) {
    const lo = node.keys[i]!;
    const end = node.keys[i + 1] ?? hi;
    // Child i holds keys in [lo, end): skip it when that range is wholly before the prefix
    // or wholly after it.
    if (end !== null && end <= prefix) continue;
    if (lo > prefix && !lo.startsWith(prefix)) continue;
    frontier.push({ node: true, hash: node.children[i]!, height: node.height - 1, key: lo, hi: end });
  }
}

// ---------------------------------------------------------------------------------------------
// walkNodes

/**
 * Visits every node reachable from `root`, parents before children, verifying that each node's
 * bytes hash to its name (PFS_CORRUPT otherwise). `visit` returns false to skip a node's
 * children, so a checker can skip subtrees already verified under another commit. Internal
 * nodes are parsed to find their children; leaves are verified but not parsed.
 */
export async function walkNodes(
  reader: NodeReader,
  root: string | null,
  visit: (hash: string, bytes: Uint8Array) => boolean | Promise<boolean>,
): Promise<void> {
  if (root === null) return;
  const stack = [root];
  for (let hash = stack.pop(); hash !== undefined; hash = stack.pop()) {
    const bytes = await reader.getNode(hash);
    verifyNode(hash, bytes);
    if (!(await visit(hash, bytes))) continue;
    if (isLeafBytes(bytes)) continue;
    const node = decodeNode(bytes, hash);
    if (node.kind === 'internal') for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
}

// Every leaf starts with `{"l"` (the encoding is fixed), so a leaf can be told apart without
// parsing it.
const LEAF_MARK = [0x7b, 0x22, 0x6c, 0x22] as const;

function isLeafBytes(bytes: Uint8Array): boolean {
  return LEAF_MARK.every((b, i) => bytes[i] === b);
}

/** The encoded size of a leaf's entries, as the split rules weigh it (for tests and tools). */
export function leafWeight(bytes: Uint8Array): number {
  return bytes.length - LEAF_FRAME_BYTES;
}
