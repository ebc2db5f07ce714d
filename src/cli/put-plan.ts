/**
 * Where `put file` puts things: turns the sources (`-f`, `-i`, stdin) and the target
 * `repo@ref[:path]` into a list of items, following pachctl 2.x's naming rules
 * (`src/server/pfs/cmds/cmds.go`, `putFileHelper`):
 *
 * - no `:path`: a source lands at `/<basename>` (`--full-path`: at `/<source as typed>`); stdin
 *   needs an explicit path.
 * - one source and a `:path`: the source lands at `:path`.
 * - several sources and a `:path`: `:path` is a directory prefix, `:path/<basename>`.
 * - `-r` walks a directory: each file lands at `<target>/<path relative to the directory>`, so
 *   `-r -f dir` gives `/dir/...` and `-r repo@b:/p -f dir` gives `/p/...`.
 * - `--untar`: a named source (or stdin) is a tar archive (gzip is detected) whose entries land
 *   under `:path` (`/` without one); inside a `-r` walk only `*.tar`, `*.tar.gz` and `*.tgz`
 *   files are unpacked, under their own directory. (pachctl always unpacks at the root.)
 *
 * Targets are checked here (no `..` segment, no NUL) so a bad one fails before any upload.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join as joinLocal, relative as relativeLocal } from 'node:path';
import { SluiceError } from '../client/index.js';

export type PutItem =
  /** A local file, uploaded as one file. */
  | { kind: 'file'; source: string; target: string; size: number }
  /** Standard input, uploaded as one file. */
  | { kind: 'stdin'; target: string }
  /** A tar archive (local file or `-` for stdin) unpacked under `dir`. */
  | { kind: 'tar'; source: string; dir: string };

export interface PutPlanInput {
  sources: readonly string[];
  /** The `:path` of the target, if any. */
  path: string | undefined;
  recursive: boolean;
  untar: boolean;
  fullPath: boolean;
}

export interface PutPlanHooks {
  /** Told about entries a walk skips (symlinked directories, sockets, fifos). */
  warn?: (message: string) => void;
}

const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;
const TAR_RE = /\.(tar|tar\.gz|tgz)$/i;

/** Joins PFS path parts with `/`, dropping empty and `.` segments (`..` is kept and refused later). */
export function joinPfs(...parts: string[]): string {
  const segs: string[] = [];
  for (const p of parts) for (const s of p.split('/')) if (s !== '' && s !== '.') segs.push(s);
  return '/' + segs.join('/');
}

/** The parent directory of a PFS path. */
export function pfsDir(p: string): string {
  const clean = joinPfs(p);
  const i = clean.lastIndexOf('/');
  return i <= 0 ? '/' : clean.slice(0, i);
}

/** Refuses a target that climbs out of the repo or holds a NUL byte (the daemon's own rule). */
export function checkTarget(target: string): void {
  if (target.includes('\0')) throw new SluiceError('INVALID_PATH', `path ${JSON.stringify(target)} contains a NUL byte`, { details: { path: target } });
  if (target.split('/').includes('..')) throw new SluiceError('INVALID_PATH', `path ${JSON.stringify(target)} has a ".." segment`, { details: { path: target } });
}

function localError(source: string, err: unknown): SluiceError {
  const code = (err as { code?: string }).code;
  const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  return new SluiceError('INVALID_ARGUMENT', `cannot read ${source}: ${why}`, { cause: err });
}

/** Every regular file under `dir` (following symlinks to files), sorted by relative path. */
export async function walkFiles(dir: string, hooks: PutPlanHooks = {}): Promise<Array<{ path: string; rel: string; size: number }>> {
  const found: Array<{ path: string; rel: string }> = [];
  const pending = [dir];
  while (pending.length > 0) {
    const cur = pending.pop() ?? dir;
    let entries;
    try {
      entries = await readdir(cur, { withFileTypes: true });
    } catch (err) {
      throw localError(cur, err);
    }
    for (const e of entries) {
      const full = joinLocal(cur, e.name);
      if (e.isDirectory()) pending.push(full);
      else if (e.isFile()) found.push({ path: full, rel: relativeLocal(dir, full) });
      else if (e.isSymbolicLink()) {
        const target = await stat(full).catch(() => undefined);
        if (target?.isFile() === true) found.push({ path: full, rel: relativeLocal(dir, full) });
        else hooks.warn?.(`skipping ${full}: a symlink to ${target === undefined ? 'nothing' : 'a directory'} is not followed`);
      } else hooks.warn?.(`skipping ${full}: not a regular file`);
    }
  }
  found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  // Sizes go into tar headers; stat in bounded parallel batches.
  const out: Array<{ path: string; rel: string; size: number }> = new Array(found.length);
  const BATCH = 128;
  for (let i = 0; i < found.length; i += BATCH) {
    const slice = found.slice(i, i + BATCH);
    const sizes = await Promise.all(slice.map(async (f) => {
      try {
        return (await stat(f.path)).size;
      } catch (err) {
        throw localError(f.path, err);
      }
    }));
    slice.forEach((f, j) => {
      out[i + j] = { ...f, rel: f.rel.split(/[\\/]/).join('/'), size: sizes[j] ?? 0 };
    });
  }
  return out;
}

async function statSource(source: string): Promise<Stats> {
  try {
    return await stat(source);
  } catch (err) {
    // A dangling symlink stats as missing; say so plainly.
    const l = await lstat(source).catch(() => undefined);
    if (l?.isSymbolicLink() === true) throw new SluiceError('INVALID_ARGUMENT', `cannot read ${source}: dangling symlink`, { cause: err });
    throw localError(source, err);
  }
}

/** Plans a `put file`: what goes where. Throws before anything is uploaded. */
export async function planPut(input: PutPlanInput, hooks: PutPlanHooks = {}): Promise<PutItem[]> {
  const { sources, path, recursive, untar, fullPath } = input;
  if (sources.length === 0) throw new SluiceError('INVALID_ARGUMENT', 'no files to put');
  if (sources.filter((s) => s === '-').length > 1) throw new SluiceError('INVALID_ARGUMENT', 'standard input ("-") can be named only once');
  const items: PutItem[] = [];
  for (const source of sources) {
    if (URL_RE.test(source)) throw new SluiceError('NOT_IMPLEMENTED', `cannot put ${source}: putting files from URLs is not supported`);
    if (source === '-' && recursive) throw new SluiceError('INVALID_ARGUMENT', 'cannot set -r and read from stdin (must also set -f or -i)');
    const st = source === '-' ? undefined : await statSource(source);
    if (st?.isDirectory() === true && !recursive) throw new SluiceError('INVALID_ARGUMENT', `${source} is a directory; use -r to put it recursively`);
    if (st !== undefined && !st.isDirectory() && !st.isFile()) throw new SluiceError('INVALID_ARGUMENT', `${source} is not a regular file`);
    if (untar && st?.isDirectory() !== true) {
      // A named archive (or stdin) unpacks under :path, or the root.
      items.push({ kind: 'tar', source, dir: joinPfs(path ?? '/') });
      continue;
    }
    const name = fullPath ? source : basename(source);
    let target: string;
    if (path === undefined) {
      if (source === '-') throw new SluiceError('INVALID_ARGUMENT', 'must specify filename when reading data from stdin');
      target = joinPfs(name);
    } else if (sources.length === 1) {
      target = path;
    } else {
      target = joinPfs(path, name);
    }
    if (st === undefined) {
      checkTarget(target);
      items.push({ kind: 'stdin', target });
    } else if (st.isDirectory()) {
      for (const f of await walkFiles(source, hooks)) {
        const t = joinPfs(target, f.rel);
        if (untar && TAR_RE.test(f.rel)) items.push({ kind: 'tar', source: f.path, dir: pfsDir(t) });
        else {
          checkTarget(t);
          items.push({ kind: 'file', source: f.path, target: t, size: f.size });
        }
      }
    } else {
      checkTarget(target);
      items.push({ kind: 'file', source, target, size: st.size });
    }
  }
  for (const it of items) if (it.kind === 'tar') checkTarget(it.dir);
  return items;
}

/**
 * Splits files into at most `n` groups of roughly equal total size (largest first, each into the
 * lightest group), keeping each group in its original order.
 */
export function splitBySize<T extends { size: number }>(files: readonly T[], n: number): T[][] {
  const count = Math.max(1, Math.min(n, files.length));
  const groups: Array<{ total: number; idx: number[] }> = Array.from({ length: count }, () => ({ total: 0, idx: [] }));
  const order = files.map((f, i) => i).sort((a, b) => (files[b]?.size ?? 0) - (files[a]?.size ?? 0));
  for (const i of order) {
    let best = groups[0];
    for (const g of groups) if (best === undefined || g.total < best.total) best = g;
    if (best === undefined) break;
    // A zero-byte file still costs a tar header; count it so empty files spread too.
    best.total += (files[i]?.size ?? 0) + 512;
    best.idx.push(i);
  }
  return groups
    .filter((g) => g.idx.length > 0)
    .map((g) => g.idx.sort((a, b) => a - b).map((i) => files[i] as T));
}
