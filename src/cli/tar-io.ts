/**
 * Tar streams on the client side, with `tar-stream`:
 * - `packFiles` builds one archive on the fly from local files (read as the upload pulls, so
 *   memory stays flat however many files there are);
 * - `maybeGunzip` passes a stream through, gunzipping it when it starts with gzip's magic bytes;
 * - `extractTo` unpacks an archive under a local directory, refusing (before writing anything
 *   for that entry) any entry that would land outside it: absolute names, `..` segments, links.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { once } from 'node:events';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { SluiceError } from '../client/index.js';

export interface PackFile {
  /** Local path to read. */
  source: string;
  /** PFS path the entry stands for (its leading `/` is dropped in the archive). */
  target: string;
  size: number;
}

/** Files up to this size are read whole (one syscall) rather than streamed. */
const SMALL_FILE = 1024 * 1024;

function writeEntry(pack: tarStream.Pack, name: string, body: Buffer): Promise<void> {
  return new Promise((resolveEntry, reject) => {
    pack.entry({ name, size: body.length, mode: 0o644, type: 'file' }, body, (err) => (err ? reject(err) : resolveEntry()));
  });
}

/** Told as local bytes are read into an archive, and as each file's entry is complete. */
export interface PackProgress {
  bytes(n: number): void;
  file(): void;
}

async function streamEntry(pack: tarStream.Pack, name: string, f: PackFile, signal: AbortSignal, progress?: PackProgress): Promise<void> {
  await new Promise<void>((resolveEntry, reject) => {
    const entry = pack.entry({ name, size: f.size, mode: 0o644, type: 'file' }, (err) => (err ? reject(err) : resolveEntry()));
    const src = createReadStream(f.source, { signal });
    src.on('error', (err) => {
      entry.destroy(err);
      reject(err);
    });
    src.on('data', (chunk) => {
      progress?.bytes(chunk.length);
      if (!entry.write(chunk)) {
        src.pause();
        entry.once('drain', () => src.resume());
      }
    });
    src.on('end', () => entry.end(() => undefined));
  });
}

/** One tar archive of `files`, produced as it is read. Aborting `signal` destroys it. */
export function packFiles(files: readonly PackFile[], signal: AbortSignal, progress?: PackProgress): Readable {
  const pack = tarStream.pack();
  const produce = async (): Promise<void> => {
    for (const f of files) {
      signal.throwIfAborted();
      const name = f.target.replace(/^\/+/, '');
      if (f.size <= SMALL_FILE) {
        let body: Buffer;
        try {
          body = await readFile(f.source, { signal });
        } catch (err) {
          throw new SluiceError('INVALID_ARGUMENT', `cannot read ${f.source}: ${(err as Error).message}`, { cause: err });
        }
        progress?.bytes(body.length);
        await writeEntry(pack, name, body);
      } else {
        await streamEntry(pack, name, f, signal, progress);
      }
      progress?.file();
    }
    pack.finalize();
  };
  const out = Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
  produce().catch((err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    pack.destroy(e);
    out.destroy(e);
  });
  signal.addEventListener('abort', () => out.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted')), { once: true });
  return out;
}

async function* prefixed(head: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for (;;) {
    const r = await rest.next();
    if (r.done === true) return;
    yield r.value;
  }
}

/** The stream as it is, or gunzipped when it starts with the gzip magic bytes (1f 8b). */
export function maybeGunzip(src: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array>): Readable {
  async function* run(): AsyncGenerator<Buffer> {
    const it = (async function* () {
      for await (const c of src) yield typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    })();
    let head = Buffer.alloc(0);
    while (head.length < 2) {
      const r = await it.next();
      if (r.done === true) break;
      head = Buffer.concat([head, r.value]);
    }
    const body = Readable.from(prefixed(head, it));
    if (head[0] === 0x1f && head[1] === 0x8b) {
      const gz = createGunzip();
      pipeline(body, gz, (err) => {
        if (err) gz.destroy(err);
      });
      yield* gz as AsyncIterable<Buffer>;
    } else {
      yield* body as AsyncIterable<Buffer>;
    }
  }
  return Readable.from(run());
}

/** The safe local path for a tar entry name under `root`, or an error saying why not. */
export function entryPath(root: string, name: string): string {
  if (name.includes('\0')) throw new SluiceError('PFS_TAR_INVALID', `refusing tar entry ${JSON.stringify(name)}: NUL byte in name`);
  if (isAbsolute(name) || name.startsWith('/')) throw new SluiceError('PFS_TAR_INVALID', `refusing tar entry ${JSON.stringify(name)}: absolute path`);
  const segs = name.split(/[\\/]/).filter((s) => s !== '' && s !== '.');
  if (segs.includes('..')) throw new SluiceError('PFS_TAR_INVALID', `refusing tar entry ${JSON.stringify(name)}: it escapes the output directory`);
  const base = resolve(root);
  const full = resolve(base, ...segs);
  if (full !== base && !full.startsWith(base + sep)) throw new SluiceError('PFS_TAR_INVALID', `refusing tar entry ${JSON.stringify(name)}: it escapes the output directory`);
  return full;
}

/** Writes a byte stream to a new local file, honouring backpressure. */
export async function writeFileFrom(dest: string, src: AsyncIterable<Uint8Array>): Promise<void> {
  const ws = createWriteStream(dest, { mode: 0o644 });
  try {
    for await (const chunk of src) {
      if (!ws.write(chunk)) await once(ws, 'drain');
    }
    ws.end();
    await once(ws, 'finish');
  } catch (err) {
    ws.destroy();
    throw err;
  }
}

/** Unpacks a tar stream under `root` (created if missing). Returns the number of files written. */
export async function extractTo(root: string, tar: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
  await mkdir(root, { recursive: true });
  const ex = tarStream.extract();
  const feed = Readable.from(tar);
  feed.on('error', (err) => ex.destroy(err));
  feed.pipe(ex);
  let files = 0;
  for await (const entry of ex) {
    const h = entry.header;
    const type = h.type ?? 'file';
    if (type === 'directory') {
      await mkdir(entryPath(root, h.name), { recursive: true });
      entry.resume();
      continue;
    }
    if (type !== 'file' && type !== 'contiguous-file') {
      throw new SluiceError('PFS_TAR_INVALID', `refusing tar entry ${JSON.stringify(h.name)}: ${type} entries are not extracted`);
    }
    const dest = entryPath(root, h.name);
    if (dest === resolve(root)) throw new SluiceError('PFS_TAR_INVALID', `refusing tar entry ${JSON.stringify(h.name)}: empty name`);
    await mkdir(dirname(dest), { recursive: true });
    await writeFileFrom(dest, entry as AsyncIterable<Buffer>);
    files++;
  }
  return files;
}
