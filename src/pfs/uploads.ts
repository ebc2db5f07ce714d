/**
 * Upload sessions: the only way file changes enter the store.
 *
 * An upload is a private staging area (`u/<id>`): puts, tar extractions, deletes and copies land
 * in it, each request as one transaction after its bytes are durable. Nothing in an upload is
 * visible until `commit`, which in ONE transaction either makes and finishes a new commit on a
 * branch (its head is never an open commit), or moves the staged changes into an open commit.
 * A client that dies mid-upload leaves only an expired upload, never an open commit at a branch
 * head; a request body cut off mid-stream stages nothing.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { CommitInfo, CommitRef, CommitUploadRequest, CommitUploadResponse, CopyFileRequest } from '../api/types.js';
import { SluiceError, wrapError } from '../errors/index.js';
import { cleanPath, joinPath } from '../lib/paths.js';
import { isCommitId, newCommitId } from '../lib/names.js';
import { parseRef } from '../lib/address.js';
import { commitStage, uploadStage, type Exec, type PfsContext } from './context.js';
import { commitInfo, finishCommitTx, getCommitRow, requireRepo, resolveCommit, type CommitRow } from './commits.js';
import { startCommitTx } from './pfs-service.js';
import { PackSession } from './pack-session.js';
import { fileValue, isFileValue, dirKey, type FileValue } from './entries.js';
import { get, range } from './tree/index.js';
import { treeOf } from './file-reader.js';

/** Uploads left uncommitted this long are dropped by the collector. */
export const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

interface NewOp {
  path: string;
  op: 'put' | 'append' | 'delete';
  value: FileValue | null;
}

/** One operation of `stageMany`. */
export type StageOp =
  | { op: 'put' | 'append'; path: string; body: AsyncIterable<Uint8Array> }
  | { op: 'delete'; path: string };

export class Uploads {
  constructor(private readonly ctx: PfsContext) {}

  async create(): Promise<string> {
    const id = randomUUID().replace(/-/g, '');
    const now = this.ctx.now();
    await this.ctx.db.insertInto('stages').values({ id: uploadStage(id), created_at: now, expires_at: now + UPLOAD_TTL_MS }).execute();
    return id;
  }

  /** Stores one file's bytes and stages it. The body is streamed: memory stays bounded. */
  async putFile(uploadId: string, path: string, body: AsyncIterable<Uint8Array>, opts: { append?: boolean } = {}): Promise<{ path: string; sizeBytes: number }> {
    await this.requireUpload(this.ctx.db, uploadId);
    const pack = new PackSession(this.ctx);
    try {
      const op = await this.readFile(pack, path, body, opts.append === true);
      await pack.seal();
      await this.stage(uploadId, pack, [op]);
      return { path: op.path, sizeBytes: op.value?.s ?? 0 };
    } catch (err) {
      await pack.abort();
      throw uploadError(err);
    } finally {
      pack.release();
    }
  }

  /**
   * Stores and stages a run of puts, appends and deletes, in order, with ONE pack and ONE
   * transaction (what a gRPC ModifyFile of many small files costs, instead of one of each per
   * file). Each put's body is read to its end before the next operation is pulled; an error or a
   * body cut off anywhere stages nothing of the run.
   */
  async stageMany(uploadId: string, ops: AsyncIterable<StageOp>): Promise<{ files: number; sizeBytes: number }> {
    await this.requireUpload(this.ctx.db, uploadId);
    const pack = new PackSession(this.ctx);
    try {
      const staged: NewOp[] = [];
      let files = 0;
      for await (const o of ops) {
        if (o.op === 'delete') {
          staged.push({ path: cleanPath(o.path), op: 'delete', value: null });
        } else {
          staged.push(await this.readFile(pack, o.path, o.body, o.op === 'append'));
          files++;
        }
      }
      await pack.seal();
      await this.stage(uploadId, pack, staged);
      return { files, sizeBytes: pack.bytesIn };
    } catch (err) {
      await pack.abort();
      throw uploadError(err);
    }
  }

  /** Chunks one file's body into the pack; the operation that puts (or appends) it. */
  private async readFile(pack: PackSession, path: string, body: AsyncIterable<Uint8Array>, append: boolean): Promise<NewOp> {
    const clean = cleanPath(path);
    if (clean === '/') throw new SluiceError('INVALID_PATH', 'cannot put a file at the root path "/"; name a file', { details: { path } });
    const refs = await pack.addStream(body);
    return { path: clean, op: append ? 'append' : 'put', value: fileValue(refs) };
  }

  /**
   * Extracts a tar stream under `prefix` and stages every regular file in it. Refuses the whole
   * archive (nothing staged) on a malformed archive, a link or device entry, or a path that climbs
   * out of the prefix.
   */
  async putTar(uploadId: string, prefix: string, body: AsyncIterable<Uint8Array>, opts: { append?: boolean } = {}): Promise<{ files: number; sizeBytes: number }> {
    await this.requireUpload(this.ctx.db, uploadId);
    const pack = new PackSession(this.ctx);
    try {
      const ops = await this.readTar(pack, prefix, body, opts.append === true);
      await pack.seal();
      await this.stage(uploadId, pack, ops);
      return { files: ops.length, sizeBytes: pack.bytesIn };
    } catch (err) {
      await pack.abort();
      throw err instanceof SluiceError ? err : uploadError(err, 'PFS_TAR_INVALID', 'malformed tar archive');
    } finally {
      pack.release();
    }
  }

  /** Extracts a tar stream into the pack; the operations that put its regular files under `prefix`. */
  private async readTar(pack: PackSession, prefix: string, body: AsyncIterable<Uint8Array>, append: boolean): Promise<NewOp[]> {
    const root = cleanPath(prefix);
    const ops: NewOp[] = [];
    const extract = tarStream.extract();
    const src = Readable.from(body);
    src.on('error', (err) => extract.destroy(err));
    src.pipe(extract);
    try {
      for await (const entry of extract) {
        const h = entry.header;
        if (h.type === 'directory') {
          entry.resume();
          continue;
        }
        if (h.type !== 'file' && h.type !== 'contiguous-file') {
          throw new SluiceError('PFS_TAR_INVALID', `tar entry ${JSON.stringify(h.name)} is a ${h.type ?? 'unknown'}; only regular files and directories are accepted`, { details: { entry: h.name, type: h.type } });
        }
        let path: string;
        try {
          path = joinPath(root, h.name);
        } catch (err) {
          throw new SluiceError('PFS_TAR_INVALID', `tar entry ${JSON.stringify(h.name)} escapes the target directory: ${(err as Error).message}`, { details: { entry: h.name } });
        }
        if (path === root && root === '/') throw new SluiceError('PFS_TAR_INVALID', `tar entry ${JSON.stringify(h.name)} has no file name`, { details: { entry: h.name } });
        const refs = await pack.addStream(entry as AsyncIterable<Uint8Array>);
        ops.push({ path, op: append ? 'append' : 'put', value: fileValue(refs) });
      }
      return ops;
    } catch (err) {
      src.destroy();
      if (err instanceof SluiceError) throw err;
      throw uploadError(err, 'PFS_TAR_INVALID', 'malformed tar archive');
    }
  }

  /** Stages the deletion of a file or of a directory and everything beneath it. */
  async deleteFile(uploadId: string, path: string): Promise<void> {
    const clean = cleanPath(path);
    await this.ctx.tx(async (trx) => {
      await this.requireUpload(trx, uploadId);
      await insertOps(trx, uploadStage(uploadId), [{ path: clean, op: 'delete', value: null }]);
    });
  }

  /** Stages a copy of a file or directory from any commit. Chunks are shared: no bytes are copied. */
  async copyFile(uploadId: string, req: CopyFileRequest): Promise<{ files: number }> {
    const src = cleanPath(req.src.path);
    const dst = cleanPath(req.dst);
    const db = this.ctx.db;
    await this.requireUpload(db, uploadId);
    const source = await resolveCommit(db, req.src.repo, req.src.ref);
    const { reader, root } = await treeOf(this.ctx, db, source);
    const op = req.append === true ? 'append' : 'put';
    const ops: NewOp[] = [];
    const file = await get(reader, root, src);
    if (isFileValue(file)) {
      ops.push({ path: dst, op, value: file });
    } else {
      const prefix = dirKey(src);
      for await (const [k, v] of range(reader, root, { prefix })) {
        if (isFileValue(v)) ops.push({ path: joinPath(dst, k.slice(prefix.length)), op, value: v });
      }
      if (ops.length === 0) throw new SluiceError('PFS_FILE_NOT_FOUND', `file ${req.src.repo}@${req.src.ref}:${src} not found`, { details: { ...req.src } });
    }
    await this.ctx.tx(async (trx) => {
      await this.requireUpload(trx, uploadId);
      // The chunks named here were read outside this transaction: the source commit must still
      // exist (on PostgreSQL, share-locked until commit), or the garbage collector may have taken them.
      let q = trx.selectFrom('commits').select('id').where('repo', '=', source.repo).where('id', '=', source.id);
      if (this.ctx.meta.dialect === 'postgres') q = q.forShare();
      if ((await q.executeTakeFirst()) === undefined) {
        throw new SluiceError('PFS_COMMIT_NOT_FOUND', `commit ${source.repo}@${source.id} was deleted during the copy; nothing was copied`, { details: { repo: source.repo, commit: source.id } });
      }
      await insertOps(trx, uploadStage(uploadId), ops);
    });
    return { files: ops.length };
  }

  /** Convenience for the daemon itself: one file, one finished commit. */
  async commitSingleFile(repo: string, ref: string, path: string, data: Buffer, description?: string): Promise<CommitInfo> {
    const id = await this.create();
    try {
      await this.putFile(id, path, (async function* () {
        yield data;
      })());
      return (await this.commit(id, { repo, ref, ...(description !== undefined ? { description } : {}) }, 'AUTO')).commit;
    } catch (err) {
      await this.abort(id).catch(() => undefined);
      throw err;
    }
  }

  /** The files an upload has staged (put and append only), in order: what a datum wrote. */
  async stagedFiles(uploadId: string): Promise<Array<[string, { s: number; c: Array<[string, number]> }]>> {
    await this.requireUpload(this.ctx.db, uploadId);
    const rows = await this.ctx.db.selectFrom('staged_ops').select(['path', 'op', 'value']).where('stage', '=', uploadStage(uploadId)).orderBy('seq').execute();
    const out: Array<[string, { s: number; c: Array<[string, number]> }]> = [];
    for (const r of rows) if (r.value !== null) out.push([r.path, JSON.parse(r.value) as { s: number; c: Array<[string, number]> }]);
    return out;
  }

  async abort(uploadId: string): Promise<void> {
    await this.ctx.tx(async (trx) => {
      await trx.deleteFrom('staged_ops').where('stage', '=', uploadStage(uploadId)).execute();
      await trx.deleteFrom('stages').where('id', '=', uploadStage(uploadId)).execute();
    });
  }

  /**
   * Commits an upload: to a branch with a finished head (or none) as a new finished commit; to an
   * open commit (or a branch whose head is open) by adding the changes to it. With `marker`, a
   * second upload becomes a finished commit on the marker branch in the same transaction.
   */
  async commit(uploadId: string, req: CommitUploadRequest, origin: 'USER' | 'AUTO' = 'USER'): Promise<CommitUploadResponse> {
    const finished: CommitRow[] = [];
    const result = await this.ctx.tx(async (trx) => {
      const main = await this.commitTx(trx, { upload: uploadId }, req.repo, req.ref, req.description, req.provenance, origin);
      if (main.finished) finished.push(main.row);
      let marker: CommitRow | undefined;
      if (req.marker !== undefined) {
        const m = await this.commitTx(trx, { upload: req.marker.uploadId }, req.repo, req.marker.branch, req.description, req.provenance, origin, true);
        marker = m.row;
        finished.push(m.row);
      }
      return { main, marker };
    });
    return this.announce(result.main, finished, result.marker);
  }

  /**
   * One request, one commit: stores one file (or a tar's files) and commits it in ONE
   * transaction, with no upload session and no staging rows (the fast path for one-file commits).
   */
  async putAndCommit(
    req: { repo: string; ref: string; path: string; tar?: boolean; append?: boolean; description?: string },
    body: AsyncIterable<Uint8Array>,
  ): Promise<CommitUploadResponse> {
    // Refuse a missing repo before storing any byte.
    await requireRepo(this.ctx.db, req.repo);
    const pack = new PackSession(this.ctx);
    try {
      const ops = req.tar === true
        ? await this.readTar(pack, req.path, body, req.append === true)
        : [await this.readFile(pack, req.path, body, req.append === true)];
      await pack.seal();
      const finished: CommitRow[] = [];
      const main = await this.ctx.tx(async (trx) => {
        await pack.recordTx(trx);
        const m = await this.commitTx(trx, { ops }, req.repo, req.ref, req.description, undefined, 'USER');
        if (m.finished) finished.push(m.row);
        return m;
      });
      return await this.announce(main, finished);
    } catch (err) {
      await pack.abort();
      throw err instanceof SluiceError ? err : uploadError(err);
    } finally {
      pack.release();
    }
  }

  /** After a commit transaction: emits `commitFinished` for what finished, and builds the reply. */
  private async announce(main: { row: CommitRow; finished: boolean }, finished: CommitRow[], marker?: CommitRow): Promise<CommitUploadResponse> {
    const db = this.ctx.db;
    const infos = new Map<string, CommitInfo>();
    for (const row of finished) infos.set(row.id, await commitInfo(this.ctx, db, row));
    for (const info of infos.values()) this.ctx.events.emit('commitFinished', info);
    const response: CommitUploadResponse = {
      commit: infos.get(main.row.id) ?? (await commitInfo(this.ctx, db, main.row)),
      finished: main.finished,
    };
    if (marker !== undefined) response.markerCommit = infos.get(marker.id)!;
    return response;
  }

  /**
   * Commits staged changes inside the caller's transaction. `source` is an upload (its staging
   * rows) or operations held in memory (a one-request put, which never stages anything).
   */
  private async commitTx(
    trx: Exec, source: { upload: string } | { ops: NewOp[] }, repo: string, ref: string, description: string | undefined,
    provenance: CommitRef[] | undefined, origin: 'USER' | 'AUTO', mustFinish = false,
  ): Promise<{ row: CommitRow; finished: boolean }> {
    if ('upload' in source) await this.requireUpload(trx, source.upload);
    await requireRepo(trx, repo);
    const stage = 'upload' in source ? uploadStage(source.upload) : undefined;
    const parsed = parseRef(ref);
    let open: CommitRow | undefined;
    let branch: string | undefined;
    if (parsed.ancestry.length > 0) throw new SluiceError('INVALID_ARGUMENT', `cannot write to ${repo}@${ref}: ancestry refers to a finished commit; name a branch or an open commit`);
    if (parsed.commit !== undefined || (isCommitId(parsed.base) && (await getCommitRow(trx, repo, parsed.base)) !== undefined)) {
      open = await resolveCommit(trx, repo, ref);
      if (open.finished_at !== null) throw new SluiceError('PFS_COMMIT_FINISHED', `commit ${repo}@${open.id} is finished; write to a branch or an open commit`, { details: { repo, commit: open.id } });
    } else {
      branch = parsed.base;
      // Several daemons on one PostgreSQL: the head is read under a row lock, so commits to one
      // branch through different daemons are serialised (the second waits, then sees the first).
      let q = trx.selectFrom('branches').select('head').where('repo', '=', repo).where('name', '=', branch);
      if (this.ctx.meta.dialect === 'postgres') q = q.forUpdate();
      const b = await q.executeTakeFirst();
      if (b?.head != null) {
        const head = await getCommitRow(trx, repo, b.head);
        if (head !== undefined && head.finished_at === null) open = head;
      }
    }
    if (open !== undefined && !mustFinish) {
      // Re-sequence so these changes apply after everything already staged in the commit.
      const target = commitStage(repo, open.id);
      if (stage === undefined) {
        await insertOps(trx, target, 'ops' in source ? source.ops : []);
      } else {
        await trx.insertInto('staged_ops')
          .columns(['stage', 'path', 'op', 'value'])
          .expression((eb) => eb.selectFrom('staged_ops').select([eb.cast<string>(eb.val(target), 'text').as('stage'), 'path', 'op', 'value']).where('stage', '=', stage).orderBy('seq'))
          .execute();
        await dropStage(trx, stage);
      }
      return { row: open, finished: false };
    }
    if (open !== undefined) throw new SluiceError('PFS_COMMIT_NOT_FINISHED', `branch ${repo}@${branch ?? ref} has an open commit ${open.id}; finish it first`, { details: { repo, commit: open.id } });
    const startReq = { branch: branch!, ...(description !== undefined ? { description } : {}), ...(provenance !== undefined ? { provenance } : {}) };
    const row = await startCommitTx(this.ctx, trx, repo, startReq, origin, newCommitId());
    const done = await finishCommitTx(this.ctx, trx, row, description, stage ?? ('ops' in source ? source.ops : []));
    if (stage !== undefined) await dropStage(trx, stage);
    return { row: done, finished: true };
  }

  private async requireUpload(exec: Exec, uploadId: string): Promise<void> {
    const row = await exec.selectFrom('stages').select(['expires_at']).where('id', '=', uploadStage(uploadId)).executeTakeFirst();
    if (row === undefined || (row.expires_at !== null && row.expires_at < this.ctx.now())) {
      throw new SluiceError('PFS_UPLOAD_NOT_FOUND', `upload ${uploadId} not found (committed, aborted or expired)`, { details: { upload: uploadId } });
    }
  }

  private async stage(uploadId: string, pack: PackSession, ops: NewOp[]): Promise<void> {
    await this.ctx.tx(async (trx) => {
      await this.requireUpload(trx, uploadId);
      await pack.recordTx(trx);
      await insertOps(trx, uploadStage(uploadId), ops);
    });
  }
}

async function insertOps(trx: Exec, stage: string, ops: NewOp[]): Promise<void> {
  const rows = ops.map((o) => ({ stage, path: o.path, op: o.op, value: o.value === null ? null : JSON.stringify({ s: o.value.s, c: o.value.c }) }));
  for (let i = 0; i < rows.length; i += 200) await trx.insertInto('staged_ops').values(rows.slice(i, i + 200)).execute();
}

async function dropStage(trx: Exec, stage: string): Promise<void> {
  await trx.deleteFrom('staged_ops').where('stage', '=', stage).execute();
  await trx.deleteFrom('stages').where('id', '=', stage).execute();
}

function uploadError(err: unknown, code: 'UPLOAD_INCOMPLETE' | 'PFS_TAR_INVALID' = 'UPLOAD_INCOMPLETE', what = 'upload failed'): SluiceError {
  if (err instanceof SluiceError) return err;
  const e = err as { code?: string };
  if (e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || (err instanceof Error && /aborted/i.test(err.message))) {
    return wrapError(err, 'UPLOAD_INCOMPLETE', 'the request body was cut off; nothing was written');
  }
  return wrapError(err, code, what);
}
