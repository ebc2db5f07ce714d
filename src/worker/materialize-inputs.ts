/**
 * Downloads a datum's inputs into its scratch `/pfs`: an input of type `file` is one
 * `getFile` written to `pfs/<name><path>`; an input of type `dir` is one `getTar` unpacked
 * under `pfs/<name><path>`. Contents stream to disk; nothing is held in memory whole.
 *
 * `lazy` file inputs become named pipes that stream when read (lazy-inputs.ts), when the caller
 * passes a `LazyFeeds`; `lazy` directories are downloaded as usual.
 *
 * `empty_files` (Pachyderm's option for code that needs only names): a file input becomes an
 * empty file without any download; a directory input is unpacked with every file empty (its tar
 * still streams past, since only the listing is needed but the tar is what the API serves).
 *
 * One datum can name a path twice (a group over an input whose glob matches a directory and files
 * in it, or a union inside a join): each host path is written once, and a file inside a directory
 * input of the same name comes with that directory. Several datums never share a scratch folder,
 * so a file present in several datums is written once for each.
 *
 * Bad input is refused before anything lands outside the input's folder (DESIGN invariant 7):
 * an input name that is not a single path segment (or is `out`), a path with `..`, a tar entry
 * that climbs out, or an entry that is not a regular file or directory (links, devices).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { DatumInput } from '../api/pps-types.js';
import { isSluiceError, SluiceError } from '../errors/index.js';
import { cleanPath } from '../lib/paths.js';
import type { LazyFeeds } from './lazy-inputs.js';

/** The SDK reads the worker needs (a `Client` is one). */
export interface InputSource {
  getFile(repo: string, ref: string, path: string): Promise<Readable>;
  getTar(repo: string, ref: string, path: string): Promise<Readable>;
}

/** Host path of `/pfs/<name><path>` under the scratch `pfsDir`, refusing names and paths that escape. */
export function inputHostPath(pfsDir: string, input: Pick<DatumInput, 'name' | 'path'>): string {
  const { name } = input;
  if (name === '' || name === '.' || name === '..' || name === 'out' || name.includes('/') || name.includes('\0')) {
    throw new SluiceError('INVALID_PATH', `input name ${JSON.stringify(name)} cannot be a folder of /pfs`);
  }
  const p = cleanPath(input.path);
  return p === '/' ? join(pfsDir, name) : join(pfsDir, name, ...p.slice(1).split('/'));
}

/** Writes a byte stream to a new file, honouring backpressure; returns the bytes written. */
async function writeStream(dest: string, src: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<number> {
  const ws = createWriteStream(dest, { mode: 0o644 });
  let bytes = 0;
  try {
    for await (const chunk of src) {
      signal.throwIfAborted();
      bytes += chunk.byteLength;
      if (!ws.write(chunk)) await once(ws, 'drain');
    }
    ws.end();
    await once(ws, 'finish');
    return bytes;
  } catch (err) {
    ws.destroy();
    throw err;
  }
}

/** The host path for tar entry `name` under `root`, or an error when it would escape. */
function entryHostPath(root: string, name: string): string {
  if (name.includes('\0')) throw new SluiceError('PFS_TAR_INVALID', `refusing tar entry ${JSON.stringify(name)}: NUL byte in name`);
  const segs = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.includes('..')) throw new SluiceError('PFS_TAR_INVALID', `refusing tar entry ${JSON.stringify(name)}: it climbs out of the input folder`);
  return segs.length === 0 ? root : join(root, ...segs);
}

async function extractTar(root: string, tar: Readable, signal: AbortSignal, empty = false): Promise<number> {
  const ex = tarStream.extract();
  tar.on('error', (err) => ex.destroy(err));
  tar.pipe(ex);
  let bytes = 0;
  for await (const entry of ex) {
    signal.throwIfAborted();
    const h = entry.header;
    const type = h.type ?? 'file';
    const dest = entryHostPath(root, h.name);
    if (type === 'directory') {
      await mkdir(dest, { recursive: true });
      entry.resume();
      continue;
    }
    if (type !== 'file' && type !== 'contiguous-file') {
      throw new SluiceError('PFS_TAR_INVALID', `refusing tar entry ${JSON.stringify(h.name)}: ${type} entries are not materialised`);
    }
    if (dest === root) throw new SluiceError('PFS_TAR_INVALID', `refusing tar entry ${JSON.stringify(h.name)}: empty name`);
    await mkdir(dirname(dest), { recursive: true });
    if (empty) {
      entry.resume();
      await writeFile(dest, '', { mode: 0o644 });
      continue;
    }
    bytes += await writeStream(dest, entry as AsyncIterable<Buffer>, signal);
  }
  return bytes;
}

/** The inputs worth writing: the first of each host path, and no file a directory input of its name brings. */
export function distinctInputs(inputs: readonly DatumInput[]): DatumInput[] {
  const dirs = inputs.filter((i) => i.type === 'dir').map((i) => ({ name: i.name, path: cleanPath(i.path) }));
  const seen = new Set<string>();
  const out: DatumInput[] = [];
  for (const input of inputs) {
    const path = cleanPath(input.path);
    const key = `${input.name}\0${path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (input.type === 'file' && dirs.some((d) => d.name === input.name && (d.path === '/' || path.startsWith(d.path + '/')))) continue;
    out.push(input);
  }
  return out;
}

/** Materialises every input of a datum under `pfsDir`; returns the bytes downloaded. */
export async function materializeInputs(
  source: InputSource,
  inputs: readonly DatumInput[],
  pfsDir: string,
  signal: AbortSignal,
  /** Where `lazy` file inputs go (named pipes served while user code runs); without it they are downloaded. */
  lazy?: LazyFeeds,
): Promise<number> {
  let bytes = 0;
  for (const input of distinctInputs(inputs)) {
    signal.throwIfAborted();
    const dest = inputHostPath(pfsDir, input);
    if (input.type === 'file') {
      await mkdir(dirname(dest), { recursive: true });
      if (input.emptyFiles === true) {
        await writeFile(dest, '', { mode: 0o644 });
        continue;
      }
      if (input.lazy === true && lazy !== undefined) {
        lazy.add(dest, input);
        continue;
      }
      bytes += await writeStream(dest, await source.getFile(input.repo, input.commit, input.path), signal);
      continue;
    }
    await mkdir(dest, { recursive: true });
    let tar: Readable;
    try {
      tar = await source.getTar(input.repo, input.commit, input.path);
    } catch (err) {
      // The root of an empty commit has nothing to list: the datum sees an empty folder.
      if (isSluiceError(err, 'PFS_FILE_NOT_FOUND') && cleanPath(input.path) === '/') continue;
      throw err;
    }
    bytes += await extractTar(dest, tar, signal, input.emptyFiles === true);
  }
  await lazy?.start();
  return bytes;
}
