/**
 * Reading files: get (one file streamed chunk by chunk, or a directory as a tar stream), list
 * (one directory level, O(children x log n) via seeks that skip subdirectories), glob (level by
 * level, scanning only where `**` forces it) and diff (skipping subtrees both trees share).
 * An open commit is read as it would be if finished now.
 */
import { PassThrough, Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { CommitRef, FileDiff, FileInfo } from '../api/types.js';
import { SluiceError } from '../errors/index.js';
import { cleanPath, joinPath } from '../lib/paths.js';
import { compileGlob, globSegments, isLiteralSegment } from '../lib/pach-glob.js';
import type { Exec, PfsContext } from './context.js';
import { resolveCommit, viewOpenCommit, type CommitRow } from './commits.js';
import { afterDirKey, dirKey, isDirValue, isFileValue, type FileValue } from './entries.js';
import { diff, get, range, seekGE, type NodeReader } from './tree/index.js';
import type { ChunkLocation } from '../storage/objects/index.js';

export interface TreeView {
  reader: NodeReader;
  root: string | null;
  commit: CommitRef;
}

export async function treeOf(ctx: PfsContext, exec: Exec, row: CommitRow): Promise<TreeView> {
  const commit = { repo: row.repo, id: row.id };
  if (row.finished_at !== null) return { reader: ctx.nodeReader(exec), root: row.root, commit };
  const built = await viewOpenCommit(ctx, exec, row);
  return { reader: ctx.nodeReader(exec, built.newNodes), root: built.root, commit };
}

export class FileReader {
  constructor(private readonly ctx: PfsContext) {}

  async view(repo: string, ref: string): Promise<TreeView> {
    const db = this.ctx.db;
    return treeOf(this.ctx, db, await resolveCommit(db, repo, ref));
  }

  /** Information about one path: a file, or a directory (with its total size). */
  async inspectFile(repo: string, ref: string, path: string): Promise<FileInfo> {
    const v = await this.view(repo, ref);
    const p = cleanPath(path);
    const info = await statPath(v, p);
    if (info === undefined) throw notFound(repo, ref, p);
    return info;
  }

  /** Streams a file's bytes. */
  async getFile(repo: string, ref: string, path: string): Promise<{ info: FileInfo; body: Readable }> {
    const v = await this.view(repo, ref);
    const p = cleanPath(path);
    const value = await get(v.reader, v.root, p);
    if (!isFileValue(value)) {
      if (isDirValue(await get(v.reader, v.root, dirKey(p)))) {
        throw new SluiceError('INVALID_ARGUMENT', `${repo}@${ref}:${p} is a directory; use -r to get it recursively`, { details: { repo, ref, path: p } });
      }
      throw notFound(repo, ref, p);
    }
    const body = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
    void this.pipeChunks(value, body).catch((err: unknown) => body.destroy(err as Error));
    return { info: fileInfo(p, value, v.commit), body };
  }

  /** Streams a directory (or a single file) as a tar archive, paths relative to `path`. */
  async getTar(repo: string, ref: string, path: string): Promise<Readable> {
    const v = await this.view(repo, ref);
    const p = cleanPath(path);
    const single = await get(v.reader, v.root, p);
    const pack = tarStream.pack();
    const files: Array<[string, FileValue]> = [];
    if (isFileValue(single)) files.push([p.slice(p.lastIndexOf('/') + 1), single]);
    else {
      const prefix = dirKey(p);
      if (!isDirValue(await get(v.reader, v.root, prefix))) throw notFound(repo, ref, p);
      for await (const [k, val] of range(v.reader, v.root, { prefix })) {
        if (isFileValue(val)) files.push([k.slice(prefix.length), val]);
      }
    }
    void (async () => {
      for (const [name, val] of files) {
        const entry = pack.entry({ name, size: val.s, type: 'file', mode: 0o644 });
        await this.pipeChunks(val, entry);
      }
      pack.finalize();
    })().catch((err: unknown) => pack.destroy(err as Error));
    // tar-stream packs are streamx streams; hand out a Node Readable.
    return Readable.from(pack as AsyncIterable<Buffer>);
  }

  /** The entries of a directory (one level), or the file itself when `path` is a file. */
  async listFile(repo: string, ref: string, path: string): Promise<FileInfo[]> {
    const v = await this.view(repo, ref);
    const p = cleanPath(path);
    const file = await get(v.reader, v.root, p);
    if (isFileValue(file)) return [fileInfo(p, file, v.commit)];
    const prefix = dirKey(p);
    const dir = await get(v.reader, v.root, prefix);
    if (!isDirValue(dir)) {
      if (p === '/') return [];
      throw notFound(repo, ref, p);
    }
    return listChildren(v, prefix);
  }

  /** Files and directories whose paths match a glob pattern (doublestar semantics). */
  async globFile(repo: string, ref: string, pattern: string): Promise<FileInfo[]> {
    const v = await this.view(repo, ref);
    return globTree(v, pattern);
  }

  /**
   * Files that differ between two commits (the new one's parent by default), under `path`.
   */
  async diffFile(repo: string, newRef: string, oldRef: string | undefined, path = '/'): Promise<FileDiff[]> {
    const db = this.ctx.db;
    const newRow = await resolveCommit(db, repo, newRef);
    const newView = await treeOf(this.ctx, db, newRow);
    let oldRoot: string | null = null;
    let oldReader = newView.reader;
    if (oldRef !== undefined) {
      const oldView = await this.view(repo, oldRef);
      oldRoot = oldView.root;
      oldReader = oldView.reader;
    } else if (newRow.parent !== null) {
      const parentView = await treeOf(this.ctx, db, await resolveCommit(db, repo, newRow.parent));
      oldRoot = parentView.root;
    }
    // Both views read the same node table; an open commit's overlay only adds new nodes.
    const reader: NodeReader = { getNode: async (h) => newView.reader.getNode(h).catch(() => oldReader.getNode(h)) };
    const prefix = dirKey(cleanPath(path));
    const out: FileDiff[] = [];
    for await (const d of diff(reader, oldRoot, newView.root, prefix === '/' ? {} : { prefix })) {
      if (d.key.endsWith('/')) continue;
      const before = isFileValue(d.before) ? d.before : undefined;
      const after = isFileValue(d.after) ? d.after : undefined;
      out.push({
        path: d.key,
        type: 'file',
        change: before === undefined ? 'added' : after === undefined ? 'deleted' : 'modified',
        oldSizeBytes: before?.s ?? null,
        newSizeBytes: after?.s ?? null,
      });
    }
    return out;
  }

  private async locate(hashes: string[]): Promise<Map<string, ChunkLocation>> {
    const out = new Map<string, ChunkLocation>();
    const missing: string[] = [];
    for (const h of hashes) {
      const c = this.ctx.chunkCache.get(h);
      if (c !== undefined) out.set(h, c);
      else missing.push(h);
    }
    for (let i = 0; i < missing.length; i += 500) {
      const rows = await this.ctx.db.selectFrom('chunks').selectAll().where('hash', 'in', missing.slice(i, i + 500)).execute();
      for (const r of rows) {
        const loc = { pack: r.pack, offset: r.offset, length: r.length };
        out.set(r.hash, loc);
        this.ctx.chunkCache.set(r.hash, loc);
      }
    }
    return out;
  }

  /**
   * Reads a chunk at a location that may come from the cache. A cached location can be stale
   * when a garbage collector in another daemon deleted the chunk and it was stored again
   * elsewhere: on PFS_CORRUPT the index is asked again, and a different location is read once.
   */
  private async readChunk(hash: string, loc: ChunkLocation): Promise<Buffer> {
    try {
      return await this.ctx.objects.read(loc);
    } catch (err) {
      if (!(err instanceof SluiceError) || err.code !== 'PFS_CORRUPT') throw err;
      this.ctx.chunkCache.delete(hash);
      const row = await this.ctx.db.selectFrom('chunks').select(['pack', 'offset', 'length']).where('hash', '=', hash).executeTakeFirst();
      if (row === undefined || (row.pack === loc.pack && row.offset === loc.offset)) throw err;
      const fresh = { pack: row.pack, offset: row.offset, length: row.length };
      this.ctx.chunkCache.set(hash, fresh);
      return this.ctx.objects.read(fresh);
    }
  }

  /**
   * Writes a file's chunks to a stream in order, honouring back-pressure. Up to READ_AHEAD chunk
   * reads are in flight at once, so a store with per-request latency (S3: one ranged GET per
   * chunk) overlaps them; memory stays bounded by READ_AHEAD chunks (4 MiB each at most).
   */
  private async pipeChunks(value: FileValue, out: NodeJS.WritableStream & { writableNeedDrain?: boolean }): Promise<void> {
    const BATCH = 64;
    const READ_AHEAD = 4;
    for (let i = 0; i < value.c.length; i += BATCH) {
      const slice = value.c.slice(i, i + BATCH);
      const locs = await this.locate(slice.map((c) => c[0]));
      const reads: Array<Promise<Buffer> | undefined> = [];
      const start = (k: number): void => {
        const hash = slice[k]![0];
        const loc = locs.get(hash);
        const read = loc === undefined
          ? Promise.reject(new SluiceError('PFS_CORRUPT', `chunk ${hash} is not in the chunk index`, { details: { chunk: hash } }))
          : this.readChunk(hash, loc);
        // Awaited in order below; until then a failure must not count as unhandled.
        read.catch(() => undefined);
        reads[k] = read;
      };
      for (let k = 0; k < Math.min(READ_AHEAD, slice.length); k++) start(k);
      for (let k = 0; k < slice.length; k++) {
        const bytes = await reads[k]!;
        reads[k] = undefined;
        if (k + READ_AHEAD < slice.length) start(k + READ_AHEAD);
        if (!out.write(bytes)) await new Promise<void>((r) => out.once('drain', r));
      }
    }
    out.end();
  }
}

function notFound(repo: string, ref: string, path: string): SluiceError {
  return new SluiceError('PFS_FILE_NOT_FOUND', `file ${path} not found in ${repo}@${ref}`, { details: { repo, ref, path } });
}

function fileInfo(path: string, v: FileValue, commit: CommitRef): FileInfo {
  return { path, type: 'file', sizeBytes: v.s, chunks: v.c.map((c) => c[0]), commit };
}

async function statPath(v: TreeView, p: string): Promise<FileInfo | undefined> {
  const file = await get(v.reader, v.root, p);
  if (isFileValue(file)) return fileInfo(p, file, v.commit);
  const dir = await get(v.reader, v.root, dirKey(p));
  if (isDirValue(dir)) return { path: p === '/' ? '/' : p + '/', type: 'dir', sizeBytes: dir.s, commit: v.commit };
  return undefined;
}

async function listChildren(v: TreeView, prefix: string): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  // Keys under `prefix` in order; a subdirectory's key sorts before its contents, so after
  // reporting it we seek past its whole subtree instead of reading it.
  let next = await seekGE(v.reader, v.root, prefix + '\u0000');
  while (next !== undefined && next[0].startsWith(prefix)) {
    const [k, val] = next;
    if (isDirValue(val)) {
      out.push({ path: k, type: 'dir', sizeBytes: val.s, commit: v.commit });
      next = await seekGE(v.reader, v.root, afterDirKey(k));
    } else {
      if (isFileValue(val)) out.push(fileInfo(k, val, v.commit));
      next = await seekGE(v.reader, v.root, k + '\u0000');
    }
  }
  return out;
}

/**
 * Files and directories whose paths match a Pachyderm glob (src/lib/pach-glob.ts: ohmyglob's
 * syntax, captures included). Element by element where the pattern allows it (a plain name is
 * one lookup, a pattern one directory listing); from the first element holding `**`, or when a
 * capture or `{…}` spans a `/`, the subtree is scanned once and whole paths are matched.
 */
export async function globTree(v: TreeView, pattern: string): Promise<FileInfo[]> {
  const clean = cleanPath(pattern.replace(/\/+$/, '') || '/');
  if (clean === '/') {
    const root = await statPath(v, '/');
    return root === undefined ? [] : [root];
  }
  const whole = compileGlob(clean);
  const out: FileInfo[] = [];
  const scan = async (dir: string): Promise<void> => {
    const prefix = dirKey(dir);
    for await (const [k, val] of range(v.reader, v.root, { prefix })) {
      const p = k.replace(/\/$/, '');
      if (p === dir || !whole.match(p)) continue;
      if (isFileValue(val)) out.push(fileInfo(k, val, v.commit));
      else if (isDirValue(val)) out.push({ path: k, type: 'dir', sizeBytes: val.s, commit: v.commit });
    }
  };
  const segments = globSegments(clean);
  if (segments === undefined) {
    await scan('/');
    return out;
  }
  const walk = async (dir: string, i: number): Promise<void> => {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg.includes('**')) {
      await scan(dir);
      return;
    }
    if (isLiteralSegment(seg)) {
      const p = joinPath(dir, seg);
      if (last) {
        const info = await statPath(v, p);
        if (info !== undefined) out.push(info);
      } else if (isDirValue(await get(v.reader, v.root, dirKey(p)))) {
        await walk(p, i + 1);
      }
      return;
    }
    const one = compileGlob(seg);
    for (const child of await listChildren(v, dirKey(dir))) {
      const name = child.path.replace(/\/$/, '').slice(child.path.replace(/\/$/, '').lastIndexOf('/') + 1);
      if (!one.match(name)) continue;
      if (last) out.push(child);
      else if (child.type === 'dir') await walk(child.path.replace(/\/$/, ''), i + 1);
    }
  };
  await walk('/', 0);
  return out;
}
