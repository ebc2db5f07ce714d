/**
 * Turns a parent tree plus an ordered list of staged operations into the child tree.
 *
 * This is the one place where staged changes meet a tree: finishing a commit, committing an
 * upload and viewing an open commit all call `buildTree`. Its cost is O(changes x log n) node
 * reads plus O(size) of any directory that is deleted whole; it never scans the parent tree.
 * It returns the new nodes instead of writing them, so the caller can store them in the same
 * transaction that records the commit.
 *
 * Directory entries are derived: each changed file adds its size and count delta to every
 * ancestor, a directory whose count reaches zero disappears, and a path cannot be both a file
 * and a directory (PFS_PATH_CONFLICT, which refuses the whole change).
 */
import { SluiceError } from '../errors/index.js';
import { ancestors } from '../lib/paths.js';
import { apply, get, range, type NodeReader, type Value } from './tree/index.js';
import { concatFiles, dirKey, isDirValue, isFileValue, sameFile, type DirValue, type FileValue } from './entries.js';

export interface StagedOp {
  path: string;
  op: 'put' | 'append' | 'delete';
  value: FileValue | null;
}

export interface BuiltTree {
  root: string | null;
  newNodes: Map<string, Uint8Array>;
  sizeBytes: number;
  filesChanged: number;
  /** Put and append operations among `ops`, and the bytes they carry (what the metrics count as written). */
  filesWritten: number;
  bytesWritten: number;
}

export async function buildTree(reader: NodeReader, parentRoot: string | null, ops: StagedOp[]): Promise<BuiltTree> {
  // The tree the changes apply to: the parent's, or empty after a delete of "/" (which costs
  // nothing, however large the parent: pipeline output commits start this way).
  let base = parentRoot;
  const readFile = async (path: string): Promise<FileValue | undefined> => {
    const v = await get(reader, base, path);
    return isFileValue(v) ? v : undefined;
  };
  // final value of every touched file path; null means deleted
  const finals = new Map<string, FileValue | null>();
  // The directory keys (`dirKey`) of every ancestor of a path in `finals`: a delete scans
  // `finals` for paths beneath it only when there can be any (a ModifyFile that deletes each file
  // before putting it would otherwise cost O(files^2)).
  const dirsInFinals = new Set<string>();
  const setFinal = (path: string, v: FileValue | null): void => {
    if (!finals.has(path)) for (const a of ancestors(path)) dirsInFinals.add(dirKey(a));
    finals.set(path, v);
  };
  const current = async (path: string): Promise<FileValue | undefined> => {
    if (finals.has(path)) return finals.get(path) ?? undefined;
    return readFile(path);
  };

  let filesWritten = 0;
  let bytesWritten = 0;
  for (const op of ops) {
    if (op.op !== 'delete' && op.value !== null) {
      filesWritten++;
      bytesWritten += op.value.s;
    }
    if (op.op === 'put') {
      setFinal(op.path, op.value);
    } else if (op.op === 'append') {
      const cur = await current(op.path);
      const add = op.value ?? { t: 'f', s: 0, c: [] };
      setFinal(op.path, cur === undefined ? add : concatFiles(cur, add));
    } else if (op.path === '/') {
      base = null;
      finals.clear();
      dirsInFinals.clear();
    } else {
      // A delete names a file or a directory: remove the file and everything beneath the path.
      if ((await current(op.path)) !== undefined) setFinal(op.path, null);
      const prefix = dirKey(op.path);
      for await (const [k, v] of range(reader, base, { prefix })) {
        if (isFileValue(v)) setFinal(k, null);
      }
      if (dirsInFinals.has(prefix)) for (const k of finals.keys()) if (k.startsWith(prefix)) finals.set(k, null);
    }
  }

  // File changes and the directory deltas they imply.
  const fileOps = new Map<string, Value | null>();
  const dirDelta = new Map<string, { s: number; n: number }>();
  let filesChanged = 0;
  for (const [path, next] of finals) {
    const prev = await readFile(path);
    if (prev === undefined && next === null) continue;
    if (prev !== undefined && next !== null && sameFile(prev, next)) continue;
    filesChanged++;
    fileOps.set(path, next as Value | null);
    const ds = (next?.s ?? 0) - (prev?.s ?? 0);
    const dn = (next === null ? 0 : 1) - (prev === undefined ? 0 : 1);
    for (const a of ancestors(path)) {
      const k = dirKey(a);
      const d = dirDelta.get(k);
      if (d === undefined) dirDelta.set(k, { s: ds, n: dn });
      else {
        d.s += ds;
        d.n += dn;
      }
    }
  }

  const treeOps = new Map<string, Value | null>(fileOps);
  const dirAfter = new Map<string, DirValue | null>();
  for (const [k, d] of dirDelta) {
    const prevV = await get(reader, base, k);
    const prev = isDirValue(prevV) ? prevV : { t: 'd' as const, s: 0, n: 0 };
    const n = prev.n + d.n;
    const next: DirValue | null = n <= 0 ? null : { t: 'd', s: prev.s + d.s, n };
    dirAfter.set(k, next);
    if (d.s !== 0 || d.n !== 0) treeOps.set(k, next as Value | null);
  }

  // A path is a file or a directory, never both.
  const isDirAfter = async (k: string): Promise<boolean> => {
    if (dirAfter.has(k)) return dirAfter.get(k) !== null;
    return isDirValue(await get(reader, base, k));
  };
  const isFileAfter = async (p: string): Promise<boolean> => {
    if (finals.has(p)) return finals.get(p) !== null;
    return (await readFile(p)) !== undefined;
  };
  const checkedAncestors = new Set<string>();
  for (const [path, v] of fileOps) {
    if (v === null) continue;
    if (await isDirAfter(dirKey(path))) {
      throw new SluiceError('PFS_PATH_CONFLICT', `cannot write file ${path}: a directory of that name exists`, { details: { path } });
    }
    for (const a of ancestors(path)) {
      if (a === '/' || checkedAncestors.has(a)) continue;
      checkedAncestors.add(a);
      if (await isFileAfter(a)) {
        throw new SluiceError('PFS_PATH_CONFLICT', `cannot write file ${path}: ${a} is a file, not a directory`, { details: { path, file: a } });
      }
    }
  }

  const sorted = [...treeOps.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const { root, newNodes } = await apply(
    reader,
    base,
    sorted.map(([key, value]) => ({ key, value })),
  );
  const rootDir = dirAfter.has('/') ? dirAfter.get('/') : await get(reader, base, '/');
  const sizeBytes = isDirValue(rootDir) ? rootDir.s : 0;
  return { root, newNodes, sizeBytes, filesChanged, filesWritten, bytesWritten };
}
