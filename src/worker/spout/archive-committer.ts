/**
 * Turns the archives of a spout's pipe into commits, streaming: entries go into upload sessions
 * as they arrive, and each complete archive becomes ONE `commit` call that lands the data on
 * the output branch and, when the archive carries a marker, the marker on the `marker` branch,
 * in one transaction (DESIGN invariant 4).
 *
 * Per archive:
 * - regular files go into a data upload through one tar stream (`putTar`), appended to the
 *   file of the same path unless the spout overwrites; entries named `<marker>` or under
 *   `<marker>/` go instead into a marker upload that first deletes everything, so the marker
 *   replaces the previous one. Directories carry nothing (the store has no empty folders);
 * - back-pressure end to end: an entry's bytes are written into the tar stream only as fast as
 *   the daemon takes them, so the pipe's reader (and so the writer) waits for the upload;
 * - the commit has provenance on the pipeline's spec commit. A commit call that fails in
 *   transit is retried; if the retry finds the upload gone, the first call went through
 *   (uploads vanish only when committed, aborted or expired), and it counts as committed;
 * - `abort` (a refused archive, a failed put, the worker stopping) cuts the streams and drops
 *   the uploads: nothing of the archive is ever committed.
 *
 * Staging and committing are separate steps (`stage`, then `commit`), so a caller can stream the
 * next archive while the previous one commits, as long as it commits them in order. Uploads are
 * made ahead of need (a data upload, and a marker upload already emptied), so no round trip on
 * an archive's path is spent creating or emptying one. `close` drops them.
 */
import { once } from 'node:events';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { CommitInfo, CommitRef, CommitUploadResponse } from '../../api/types.js';
import { isSluiceError } from '../../errors/index.js';
import { retry, type RetryPolicy } from '../retry-policy.js';
import type { EntryHeader } from './archive-reader.js';
import { isMarkerEntry, MARKER_BRANCH } from './marker.js';
import type { SpoutUpload, SpoutUploadFactory } from './spout-client.js';

export interface ArchiveCommitterOptions {
  uploads: SpoutUploadFactory;
  repo: string;
  /** The output branch. */
  branch: string;
  /** Each commit's provenance (the spec commit). */
  provenance: CommitRef[];
  /** `spout.overwrite`: entries replace files instead of appending to them. */
  overwrite: boolean;
  /** The marker's clean repo path (`/mymark`), or undefined for a spout without one. */
  marker: string | undefined;
  /** How a commit call that failed in transit is retried. */
  retry: RetryPolicy;
  signal: AbortSignal;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export interface CommittedArchive {
  /** The new commit on the output branch; null when a retried call found it already made. */
  commit: CommitInfo | null;
  markerCommit: CommitInfo | null;
  files: number;
  markerFiles: number;
  bytes: number;
}

type PackEntry = ReturnType<tarStream.Pack['entry']>;

/** One tar stream into one upload's `putTar`, fed entry by entry with back-pressure. */
class TarFeed {
  private readonly pack = tarStream.pack();
  private readonly body: Readable;
  private readonly put: Promise<{ files: number; sizeBytes: number }>;
  /** Rejects when the put fails; never resolves. */
  private readonly failed: Promise<never>;
  private entry: PackEntry | undefined;
  private entryDone: Promise<void> | undefined;

  constructor(
    upload: SpoutUpload,
    append: boolean,
    private readonly signal: AbortSignal,
  ) {
    this.body = Readable.from(this.pack as AsyncIterable<Buffer>);
    // Stream errors surface as the put's rejection; unlistened, they would end the process.
    this.pack.on('error', () => undefined);
    this.body.on('error', () => undefined);
    this.put = upload.putTar('/', this.body, append ? { append: true } : {});
    this.failed = new Promise<never>((_resolve, reject) => {
      this.put.catch(reject);
    });
    this.failed.catch(() => undefined);
  }

  startEntry(entry: EntryHeader): void {
    this.entryDone = new Promise<void>((resolve, reject) => {
      this.entry = this.pack.entry(
        { name: entry.path.slice(1), size: entry.size, mode: (entry.mode & 0o777) || 0o644, mtime: new Date(Math.max(0, entry.mtime) * 1000), type: 'file' },
        (err) => (err ? reject(err) : resolve()),
      );
      this.entry.on('error', () => undefined);
    });
    this.entryDone.catch(() => undefined);
  }

  /**
   * `p`, unless the put fails or the worker stops first: a daemon that stops reading the body
   * must not leave the worker waiting for a 'drain' that never comes.
   */
  private settle<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(this.signal.reason);
      if (this.signal.aborted) {
        onAbort();
        return;
      }
      this.signal.addEventListener('abort', onAbort, { once: true });
      Promise.race([p, this.failed])
        .then(resolve, reject)
        .finally(() => this.signal.removeEventListener('abort', onAbort));
    });
  }

  async write(chunk: Buffer): Promise<void> {
    const entry = this.entry;
    if (entry === undefined) return;
    if (entry.write(chunk)) return;
    // A plain listener, not `once(…, { signal })`: that made an AbortController (and, when
    // stopped, a DOMException) per back-pressured chunk, which dominated the worker's garbage on
    // large archives. If the put fails first, the listener goes with the destroyed entry.
    await this.settle(new Promise<void>((resolve) => entry.once('drain', resolve)));
  }

  async endEntry(): Promise<void> {
    const entry = this.entry;
    const done = this.entryDone;
    this.entry = undefined;
    this.entryDone = undefined;
    if (entry === undefined || done === undefined) return;
    entry.end(() => undefined);
    await this.settle(done);
  }

  /** Ends the tar stream and waits for the daemon to have staged it. */
  async finish(): Promise<{ files: number; sizeBytes: number }> {
    this.pack.finalize();
    return this.settle(this.put);
  }

  /** Cuts the stream: the daemon stages nothing of it. */
  destroy(): void {
    const err = new Error('archive abandoned');
    this.pack.destroy(err);
    this.body.destroy(err);
    this.put.catch(() => undefined);
  }
}

interface Side {
  upload: SpoutUpload;
  append: boolean;
  /** Started with the side's first file; an archive of folders only puts nothing. */
  feed: TarFeed | undefined;
  files: number;
}

/** A complete archive whose bytes the daemon has staged, waiting for its commit. */
export interface StagedArchive {
  data: SpoutUpload;
  marker: SpoutUpload | undefined;
  files: number;
  markerFiles: number;
  bytes: number;
}

export class ArchiveCommitter {
  private data: Side | undefined;
  private markerSide: Side | undefined;
  /** The side the current entry streams into; undefined for directories. */
  private current: Side | undefined;
  private bytes = 0;
  /** Uploads made ahead: one for the data, and with a marker one already emptied for it. */
  private dataSpare: Promise<SpoutUpload> | undefined;
  private markerSpare: Promise<SpoutUpload> | undefined;
  private closed = false;

  constructor(private readonly opts: ArchiveCommitterOptions) {}

  /** A new archive starts: have its uploads on the way. */
  begin(): void {
    this.bytes = 0;
    this.prepareSpares();
  }

  async entryStart(entry: EntryHeader): Promise<void> {
    this.current = undefined;
    if (entry.type !== 'file') return;
    const side = isMarkerEntry(entry.path, this.opts.marker) ? await this.marker() : await this.dataSide();
    side.files++;
    side.feed ??= new TarFeed(side.upload, side.append, this.opts.signal);
    side.feed.startEntry(entry);
    this.current = side;
  }

  async entryData(chunk: Buffer): Promise<void> {
    if (this.current === undefined) return;
    this.bytes += chunk.length;
    await this.current.feed?.write(chunk);
  }

  async entryEnd(): Promise<void> {
    const side = this.current;
    this.current = undefined;
    await side?.feed?.endEntry();
  }

  /**
   * The archive is complete: waits until the daemon has staged all of it, and hands it over for
   * its commit. The committer is then free for the next archive.
   */
  async stage(): Promise<StagedArchive> {
    // An archive of marker entries (or folders) only still makes a data commit: the marker
    // must describe the output branch's head.
    const data = await this.dataSide();
    const marker = this.markerSide;
    await Promise.all([data.feed?.finish(), marker?.feed?.finish()]);
    this.data = undefined;
    this.markerSide = undefined;
    this.prepareSpares();
    return { data: data.upload, marker: marker?.upload, files: data.files, markerFiles: marker?.files ?? 0, bytes: this.bytes };
  }

  /**
   * Commits a staged archive: the data on the output branch and the marker on the `marker`
   * branch, in one transaction. On failure the uploads are dropped and the error thrown.
   */
  async commit(staged: StagedArchive): Promise<CommittedArchive> {
    let res: CommitUploadResponse | null;
    try {
      res = await this.commitCall(staged.data, staged.marker);
    } catch (err) {
      this.discard(staged);
      throw err;
    }
    return {
      commit: res?.commit ?? null,
      markerCommit: res?.markerCommit ?? null,
      files: staged.files,
      markerFiles: staged.markerFiles,
      bytes: staged.bytes,
    };
  }

  /** Drops a staged archive that will not be committed. */
  discard(staged: StagedArchive): void {
    for (const upload of [staged.data, staged.marker]) void upload?.abort().catch(() => undefined);
  }

  /** Stages and commits the archive (`stage` then `commit`). */
  async finish(): Promise<CommittedArchive> {
    return this.commit(await this.stage());
  }

  /** Drops the archive in progress: its streams are cut and its uploads discarded. */
  abort(): void {
    for (const side of [this.data, this.markerSide]) {
      if (side === undefined) continue;
      side.feed?.destroy();
      void side.upload.abort().catch(() => undefined);
    }
    this.data = undefined;
    this.markerSide = undefined;
    this.current = undefined;
  }

  /** Aborts what is in progress and drops the uploads made ahead. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort();
    const spares = [this.dataSpare, this.markerSpare];
    this.dataSpare = undefined;
    this.markerSpare = undefined;
    await Promise.all(spares.map((p) => p?.then((u) => u.abort()).catch(() => undefined)));
  }

  private prepareSpares(): void {
    if (this.closed) return;
    this.dataSpare ??= this.made(this.opts.uploads.createUpload());
    if (this.opts.marker !== undefined) this.markerSpare ??= this.made(this.emptied());
  }

  private made(p: Promise<SpoutUpload>): Promise<SpoutUpload> {
    p.catch(() => undefined);
    return p;
  }

  /** A marker upload: the marker replaces the previous one, so it starts by deleting everything. */
  private async emptied(): Promise<SpoutUpload> {
    const upload = await this.opts.uploads.createUpload();
    try {
      await upload.deleteFile('/');
    } catch (err) {
      void upload.abort().catch(() => undefined);
      throw err;
    }
    return upload;
  }

  /** An upload made ahead if that worked, else a new one. */
  private async take(kind: 'data' | 'marker'): Promise<SpoutUpload> {
    const spare = kind === 'data' ? this.dataSpare : this.markerSpare;
    if (kind === 'data') this.dataSpare = undefined;
    else this.markerSpare = undefined;
    if (spare !== undefined) {
      try {
        return await spare;
      } catch {
        // made while the daemon was away; try again now
      }
    }
    return kind === 'data' ? this.opts.uploads.createUpload() : this.emptied();
  }

  private async dataSide(): Promise<Side> {
    if (this.data === undefined) {
      this.data = { upload: await this.take('data'), append: !this.opts.overwrite, feed: undefined, files: 0 };
    }
    return this.data;
  }

  private async marker(): Promise<Side> {
    this.markerSide ??= { upload: await this.take('marker'), append: false, feed: undefined, files: 0 };
    return this.markerSide;
  }

  private async commitCall(data: SpoutUpload, marker: SpoutUpload | undefined): Promise<CommitUploadResponse | null> {
    const { repo, branch, provenance } = this.opts;
    // One archive read from the pipe is one message, for the spout metrics.
    const opts = { provenance, spoutStats: { messages: 1 }, ...(marker !== undefined ? { marker: { branch: MARKER_BRANCH, upload: marker } } : {}) };
    return retry(
      this.opts.retry,
      this.opts.signal,
      async (attempt) => {
        try {
          return await data.commit(repo, branch, opts);
        } catch (err) {
          // An earlier attempt reached the daemon and committed before its answer was lost.
          if (attempt > 1 && isSluiceError(err, 'PFS_UPLOAD_NOT_FOUND')) return null;
          throw err;
        }
      },
      this.opts.onRetry === undefined ? {} : { onRetry: this.opts.onRetry },
    );
  }
}
