/**
 * Commit trees: the persistent, content-addressed sorted map from paths to file metadata
 * (`btree.ts`) and the readers it loads nodes through (`node-store.ts`).
 */
export {
  apply,
  decodeNode,
  DEFAULT_TREE_LIMITS,
  diff,
  encodeNode,
  get,
  hashBytes,
  jsonEqual,
  leafWeight,
  range,
  seekGE,
  verifyNode,
  walkNodes,
} from './btree.js';
export type {
  ApplyOptions,
  ApplyResult,
  DiffEntry,
  DiffOptions,
  InternalNode,
  JsonValue,
  LeafNode,
  RangeOptions,
  TreeLimits,
  TreeNode,
  TreeOp,
  Value,
} from './btree.js';
export { CachedNodeReader, MemoryNodeStore, missingNode, NodeCache } from './node-store.js';
export type { CachedNodeReaderOptions, CacheStats, DecodedNodeReader, NodeReader } from './node-store.js';
