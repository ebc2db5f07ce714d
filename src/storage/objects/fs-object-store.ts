/**
 * `FsObjectStore`: the object store in a local directory, the default deployment.
 *
 * Layout under the root:
 *   packs/<id>.pack      sealed packs: immutable, durable, listed
 *   tmp/<id>.pack.tmp    packs being written: never listed, removed by `open()`
 *
 * Promises (see object-store.ts and DESIGN.md invariant 1): a pack appears in packs/ only after
 * its bytes are fsynced, and the rename into packs/ is made durable by fsyncing the folder, so
 * once `seal()` resolves a crash cannot lose or truncate the pack. A crash before that leaves at
 * most a file in tmp/, which the next `open()` deletes.
 *
 * Performance: appends are coalesced into ~1 MiB positional writes (uploads of many small files
 * append one small chunk each), and reads go through a small LRU of open file handles, which is
 * safe because a sealed pack never changes.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, opendir, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import type { Dir } from 'node:fs';
import { join } from 'node:path';
import { SluiceError, wrapError } from '../../errors/index.js';
import type { ChunkLocation, ObjectStore, PackInfo, PackWriter } from './object-store.js';

export interface FsObjectStoreOptions {
  /** Sealed packs kept open for reading. Default 64. */
  readerCacheSize?: number;
  /** Appends are gathered into writes of this size. Default 1 MiB. */
  writeBufferSize?: number;
}

const PACK_ID_RE = /^[0-9a-f]{32}$/;
const PACK_FILE_RE = /^([0-9a-f]{32})\.pack$/;

function newPackId(): string {
  return randomBytes(16).toString('hex');
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

async function writeFully(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Makes a rename in `dir` durable: on Linux the new name is only safe once the folder is synced. */
async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

interface CachedReader {
  handle: Promise<FileHandle>;
  /** Reads in flight on this handle: an evicted handle is closed when the last one ends. */
  users: number;
  evicted: boolean;
}

export class FsObjectStore implements ObjectStore {
  readonly root: string;
  private readonly packsDir: string;
  private readonly tmpDir: string;
  private readonly readerCacheSize: number;
  private readonly writeBufferSize: number;
  private state: 'new' | 'open' | 'closed' = 'new';
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly readers = new Map<string, CachedReader>();
  private readonly closing = new Set<Promise<void>>();
  private readonly writers = new Set<FsPackWriter>();

  constructor(root: string, options: FsObjectStoreOptions = {}) {
    this.root = root;
    this.packsDir = join(root, 'packs');
    this.tmpDir = join(root, 'tmp');
    this.readerCacheSize = Math.max(1, options.readerCacheSize ?? 64);
    this.writeBufferSize = Math.max(4096, options.writeBufferSize ?? 1024 * 1024);
  }

  /**
   * Creates the folders and deletes everything in tmp/. Meant for start-up: it also deletes packs
   * that writers of this store are still writing, and their `seal()` then fails.
   */
  async open(): Promise<{ removedTemp: number }> {
    if (this.state === 'closed') throw new SluiceError('INTERNAL', `object store at ${this.root} is closed`);
    try {
      await mkdir(this.packsDir, { recursive: true });
      await mkdir(this.tmpDir, { recursive: true });
      const leftovers = await readdir(this.tmpDir);
      for (const name of leftovers) await rm(join(this.tmpDir, name), { force: true, recursive: true });
      this.state = 'open';
      return { removedTemp: leftovers.length };
    } catch (err) {
      throw wrapError(err, 'INTERNAL', `cannot open object store at ${this.root}`);
    }
  }

  async createPackWriter(): Promise<PackWriter> {
    this.assertOpen();
    const id = newPackId();
    const tmpPath = join(this.tmpDir, `${id}.pack.tmp`);
    let fh: FileHandle;
    try {
      fh = await open(tmpPath, 'wx');
    } catch (err) {
      throw wrapError(err, 'INTERNAL', `cannot create pack ${id}`);
    }
    const writer = new FsPackWriter(id, fh, tmpPath, this.packPath(id), this.packsDir, this.writeBufferSize, () => {
      this.writers.delete(writer);
    });
    this.writers.add(writer);
    return writer;
  }

  async read(loc: ChunkLocation): Promise<Buffer> {
    this.assertOpen();
    const { pack, offset, length } = loc;
    if (!PACK_ID_RE.test(pack) || !Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new SluiceError('PFS_CORRUPT', `invalid chunk location: pack ${JSON.stringify(pack)}, offset ${offset}, length ${length}`, {
        details: { pack, offset, length },
      });
    }
    const reader = this.acquireReader(pack);
    try {
      let fh: FileHandle;
      try {
        fh = await reader.handle;
      } catch (err) {
        // Do not cache the failure: a later read gets a fresh attempt.
        this.evictReader(pack, reader);
        if (errnoCode(err) === 'ENOENT') {
          throw new SluiceError('PFS_CORRUPT', `pack ${pack} is missing from ${this.packsDir}`, { details: { pack }, cause: err });
        }
        throw wrapError(err, 'INTERNAL', `cannot open pack ${pack}`);
      }
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await fh.read(out, done, length - done, offset + done));
        } catch (err) {
          throw wrapError(err, 'INTERNAL', `cannot read pack ${pack}`);
        }
        if (bytesRead === 0) {
          throw new SluiceError('PFS_CORRUPT', `pack ${pack} is short: wanted ${length} bytes at offset ${offset}, the pack ends after ${offset + done}`, {
            details: { pack, offset, length },
          });
        }
        done += bytesRead;
      }
      return out;
    } finally {
      this.releaseReader(reader);
    }
  }

  async *listPacks(): AsyncIterable<string> {
    this.assertOpen();
    let dir: Dir;
    try {
      dir = await opendir(this.packsDir);
    } catch (err) {
      throw wrapError(err, 'INTERNAL', `cannot list packs in ${this.packsDir}`);
    }
    // opendir streams entries, so a store with very many packs is not read into memory at once.
    for await (const entry of dir) {
      const m = PACK_FILE_RE.exec(entry.name);
      if (m !== null && entry.isFile()) yield m[1] as string;
    }
  }

  async *listPackInfos(): AsyncIterable<PackInfo> {
    for await (const id of this.listPacks()) {
      try {
        const st = await stat(this.packPath(id));
        yield { id, size: st.size, modifiedAt: st.mtimeMs };
      } catch (err) {
        // Deleted between the listing and the stat (by a collector elsewhere): not a pack any more.
        if (errnoCode(err) !== 'ENOENT') throw wrapError(err, 'INTERNAL', `cannot stat pack ${id}`);
      }
    }
  }

  /** Removes a sealed pack. Removing a pack that does not exist is not an error (the collector may retry). */
  async deletePack(id: string): Promise<void> {
    this.assertOpen();
    if (!PACK_ID_RE.test(id)) throw new SluiceError('INVALID_ARGUMENT', `invalid pack id ${JSON.stringify(id)}`, { details: { pack: id } });
    const cached = this.readers.get(id);
    if (cached !== undefined) this.evictReader(id, cached);
    try {
      await unlink(this.packPath(id));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw wrapError(err, 'INTERNAL', `cannot delete pack ${id}`);
    }
  }

  /** Drops packs still being written (their owners did not seal them) and closes cached handles. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await Promise.allSettled([...this.writers].map((w) => w.abort()));
    for (const [id, reader] of [...this.readers]) this.evictReader(id, reader);
    await Promise.allSettled([...this.closing]);
  }

  private packPath(id: string): string {
    return join(this.packsDir, `${id}.pack`);
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new SluiceError('INTERNAL', `object store at ${this.root} is ${this.state === 'new' ? 'not open yet' : 'closed'}`);
  }

  private acquireReader(id: string): CachedReader {
    let reader = this.readers.get(id);
    if (reader !== undefined) {
      this.readers.delete(id);
    } else {
      reader = { handle: open(this.packPath(id), 'r'), users: 0, evicted: false };
      // The reader that awaits the handle reports a failure; keep it from being "unhandled" meanwhile.
      reader.handle.catch(() => undefined);
    }
    this.readers.set(id, reader);
    reader.users++;
    for (const [oldId, old] of this.readers) {
      if (this.readers.size <= this.readerCacheSize) break;
      this.evictReader(oldId, old);
    }
    return reader;
  }

  private releaseReader(reader: CachedReader): void {
    reader.users--;
    if (reader.evicted && reader.users === 0) this.closeReader(reader);
  }

  private evictReader(id: string, reader: CachedReader): void {
    if (this.readers.get(id) === reader) this.readers.delete(id);
    if (reader.evicted) return;
    reader.evicted = true;
    if (reader.users === 0) this.closeReader(reader);
  }

  private closeReader(reader: CachedReader): void {
    const done = reader.handle.then(
      (fh) => fh.close(),
      () => undefined,
    );
    const tracked = done.catch(() => undefined).finally(() => this.closing.delete(tracked));
    this.closing.add(tracked);
  }
}

type WriterState = 'open' | 'sealing' | 'sealed' | 'aborted' | 'failed';

class FsPackWriter implements PackWriter {
  readonly id: string;
  private fh: FileHandle | undefined;
  private readonly tmpPath: string;
  private readonly finalPath: string;
  private readonly packsDir: string;
  private readonly bufferSize: number;
  private readonly onDone: () => void;
  private state: WriterState = 'open';
  private appended = 0;
  /** File position of the next write: everything before it is written or queued. */
  private queued = 0;
  private buffer: Buffer;
  private buffered = 0;
  /** Writes run one after another; a failed write fails every later one. */
  private writes: Promise<void> = Promise.resolve();
  private failure: SluiceError | undefined;
  private sealing: Promise<void> | undefined;
  private aborting: Promise<void> | undefined;

  constructor(id: string, fh: FileHandle, tmpPath: string, finalPath: string, packsDir: string, bufferSize: number, onDone: () => void) {
    this.id = id;
    this.fh = fh;
    this.tmpPath = tmpPath;
    this.finalPath = finalPath;
    this.packsDir = packsDir;
    this.bufferSize = bufferSize;
    this.onDone = onDone;
    this.buffer = Buffer.allocUnsafe(bufferSize);
  }

  get size(): number {
    return this.appended;
  }

  /**
   * Offsets are assigned when `append` is called, so appends that are not awaited keep their
   * call order. Small appends are copied into the write buffer and resolve at once; the append
   * that fills the buffer waits for the write, which paces a fast producer. Large data is written
   * from the caller's buffer, which must not change until the promise resolves.
   */
  append(data: Uint8Array): Promise<number> {
    if (this.state !== 'open') return Promise.reject(this.notWritable('append to'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const offset = this.appended;
    this.appended += data.length;
    if (this.buffered + data.length <= this.bufferSize) {
      this.buffer.set(data, this.buffered);
      this.buffered += data.length;
      if (this.buffered < this.bufferSize) return Promise.resolve(offset);
      return this.flush().then(() => offset);
    }
    const pending: Promise<void>[] = [];
    if (this.buffered > 0) pending.push(this.flush());
    if (data.length >= this.bufferSize) {
      pending.push(this.enqueue(data));
    } else {
      this.buffer.set(data, 0);
      this.buffered = data.length;
    }
    return Promise.all(pending).then(() => offset);
  }

  seal(): Promise<void> {
    if (this.sealing !== undefined) return this.sealing;
    if (this.state !== 'open') return Promise.reject(this.notWritable('seal'));
    this.state = 'sealing';
    this.sealing = this.doSeal();
    return this.sealing;
  }

  abort(): Promise<void> {
    this.aborting ??= this.doAbort();
    return this.aborting;
  }

  private async doSeal(): Promise<void> {
    try {
      if (this.buffered > 0) void this.flush().catch(() => undefined);
      await this.writes;
      if (this.failure !== undefined) throw this.failure;
      const fh = this.fh as FileHandle;
      await fh.sync();
      this.fh = undefined;
      await fh.close();
      await rename(this.tmpPath, this.finalPath);
      await fsyncDir(this.packsDir);
      this.state = 'sealed';
      this.onDone();
    } catch (err) {
      this.state = 'failed';
      throw wrapError(err, 'INTERNAL', `cannot seal pack ${this.id}`);
    }
  }

  private async doAbort(): Promise<void> {
    if (this.sealing !== undefined) await this.sealing.catch(() => undefined);
    if (this.state === 'sealed') return;
    this.state = 'aborted';
    await this.writes;
    const fh = this.fh;
    this.fh = undefined;
    if (fh !== undefined) await fh.close().catch(() => undefined);
    await rm(this.tmpPath, { force: true }).catch(() => undefined);
    this.onDone();
  }

  /** Queues the buffered bytes for writing and starts a fresh buffer (the old one is in flight). */
  private flush(): Promise<void> {
    const full = this.buffer.subarray(0, this.buffered);
    this.buffer = Buffer.allocUnsafe(this.bufferSize);
    this.buffered = 0;
    return this.enqueue(full);
  }

  private enqueue(data: Uint8Array): Promise<void> {
    const position = this.queued;
    this.queued += data.length;
    const write = this.writes.then(async () => {
      if (this.failure !== undefined) throw this.failure;
      const fh = this.fh;
      if (fh === undefined) throw new SluiceError('INTERNAL', `pack ${this.id} was ${this.state} during a write`);
      try {
        await writeFully(fh, data, position);
      } catch (err) {
        this.failure = wrapError(err, 'INTERNAL', `cannot write pack ${this.id}`);
        throw this.failure;
      }
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  private notWritable(action: string): SluiceError {
    return new SluiceError('INTERNAL', `cannot ${action} pack ${this.id}: it is ${this.state}`, { details: { pack: this.id } });
  }
}
