/**
 * The values stored in a commit's tree. Keys are file paths (`/a/b.txt`) and directory keys
 * (the path plus `/`; the root is `/`). A directory entry exists exactly while it holds at least
 * one file (Pachyderm has no empty directories) and carries the total size and file count of
 * everything beneath it, so `list file` and commit sizes never scan a subtree.
 */
import type { ChunkRef } from '../storage/objects/index.js';

/** A file: total size and its chunks as `[sha256, size]` pairs, in order. */
export interface FileValue {
  t: 'f';
  s: number;
  c: Array<[string, number]>;
}

/** A directory: total bytes and number of files beneath it. */
export interface DirValue {
  t: 'd';
  s: number;
  n: number;
}

export type EntryValue = FileValue | DirValue;

export function isFileValue(v: unknown): v is FileValue {
  return typeof v === 'object' && v !== null && (v as { t?: unknown }).t === 'f';
}

export function isDirValue(v: unknown): v is DirValue {
  return typeof v === 'object' && v !== null && (v as { t?: unknown }).t === 'd';
}

/** The tree key of a directory path: `/` for the root, else the path plus `/`. */
export function dirKey(path: string): string {
  return path === '/' ? '/' : path + '/';
}

/** The smallest key greater than every key under directory key `k` (`/a/` -> `/a0`). */
export function afterDirKey(k: string): string {
  return k.slice(0, -1) + '0';
}

export function fileValue(chunks: ChunkRef[]): FileValue {
  let s = 0;
  const c: Array<[string, number]> = [];
  for (const ch of chunks) {
    s += ch.size;
    c.push([ch.hash, ch.size]);
  }
  return { t: 'f', s, c };
}

export function concatFiles(a: FileValue, b: FileValue): FileValue {
  return { t: 'f', s: a.s + b.s, c: a.c.concat(b.c) };
}

export function sameFile(a: FileValue, b: FileValue): boolean {
  if (a.s !== b.s || a.c.length !== b.c.length) return false;
  for (let i = 0; i < a.c.length; i++) if (a.c[i]![0] !== b.c[i]![0]) return false;
  return true;
}
