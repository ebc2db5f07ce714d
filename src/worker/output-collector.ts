/**
 * Turns what user code left in `/pfs/out` into one tar stream for the upload.
 *
 * `collectOutput` walks the folder first, before anything is uploaded, so a datum with a bad
 * output is refused whole and nothing half-written reaches the daemon (DESIGN invariant 7):
 * - regular files are uploaded at their path under `/pfs/out`; empty folders are not kept
 *   (PFS stores files; folders exist through them, as in Pachyderm);
 * - a symlink is followed, and its target's content uploaded at the link's path, only if the
 *   target, resolved as user code saw it, lies inside `/pfs/out` or inside one of the datum's
 *   input folders `/pfs/<name>` (Pachyderm's idiom `ln -s /pfs/in/x /pfs/out/x` passes a file
 *   through without copying). Anything else fails the datum: a link out of those folders
 *   (which the worker would otherwise read on the host, outside the sandbox), a dangling
 *   link, a link loop;
 * - FIFOs, sockets and devices fail the datum.
 *
 * Links are resolved component by component against the sandbox's view (`/pfs/...` mapped to
 * the scratch folder), never by the host's `realpath`, because an absolute target such as
 * `/pfs/in/x` or `/etc/passwd` means something else on the host.
 *
 * `packOutput` then streams the files into a tar archive, reading each as the upload pulls.
 */
import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { SluiceError } from '../errors/index.js';

export interface OutputFile {
  /** The file's path in the output commit (`/1K.txt`). */
  path: string;
  /** Where its bytes are on the host. */
  hostPath: string;
  size: number;
}

/** Symlink hops allowed while resolving one path (Linux's own limit is 40). */
const MAX_LINK_HOPS = 40;

function refuse(reason: string): SluiceError {
  return new SluiceError('INVALID_PATH', reason);
}

/** Maps a sandbox path under `/pfs` to the host; null for anything outside `/pfs`. */
function toHost(pfsDir: string, sandboxPath: string): string | null {
  if (sandboxPath === '/pfs') return pfsDir;
  if (!sandboxPath.startsWith('/pfs/')) return null;
  return join(pfsDir, ...sandboxPath.slice('/pfs/'.length).split('/'));
}

type Resolution = { kind: 'ok'; path: string } | { kind: 'outside' } | { kind: 'missing' } | { kind: 'loop' };

/** Resolves every symlink in `sandboxPath` as the sandbox would. */
async function resolveInSandbox(pfsDir: string, sandboxPath: string): Promise<Resolution> {
  const pending = sandboxPath.split('/');
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const seg = pending.shift() ?? '';
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      done.pop();
      continue;
    }
    const candidate = '/' + [...done, seg].join('/');
    const host = toHost(pfsDir, candidate);
    if (host === null) return { kind: 'outside' };
    let st: Stats;
    try {
      st = await lstat(host);
    } catch {
      return { kind: 'missing' };
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) return { kind: 'loop' };
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/'));
      continue;
    }
    done.push(seg);
  }
  return { kind: 'ok', path: '/' + done.join('/') };
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + '/');
}

function specialKind(st: Stats): string {
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'a special file';
}

/**
 * Every file to upload from `<pfsDir>/out`, sorted by path.
 * @throws SluiceError `INVALID_PATH` whose message is the reason the datum fails.
 */
export async function collectOutput(pfsDir: string, inputNames: readonly string[]): Promise<OutputFile[]> {
  const allowed = ['/pfs/out', ...inputNames.map((n) => `/pfs/${n}`)];
  const files: OutputFile[] = [];

  const walk = async (sandboxDir: string, outPath: string, active: ReadonlySet<string>): Promise<void> => {
    const host = toHost(pfsDir, sandboxDir);
    if (host === null) return;
    const names = (await readdir(host)).sort();
    for (const name of names) {
      const sandboxPath = `${sandboxDir}/${name}`;
      const path = `${outPath}/${name}`;
      const shown = `/pfs/out${path}`;
      const hostPath = join(host, name);
      const st = await lstat(hostPath);
      if (st.isDirectory()) {
        await walk(sandboxPath, path, new Set([...active, sandboxPath]));
      } else if (st.isFile()) {
        files.push({ path, hostPath, size: st.size });
      } else if (st.isSymbolicLink()) {
        const target = await readlink(hostPath);
        const r = await resolveInSandbox(pfsDir, sandboxPath);
        if (r.kind === 'outside' || (r.kind === 'ok' && !allowed.some((dir) => within(r.path, dir)))) {
          throw refuse(`output path ${shown} is a symlink to ${target}, outside /pfs/out`);
        }
        if (r.kind === 'missing') throw refuse(`output path ${shown} is a symlink to ${target}, which does not exist`);
        if (r.kind === 'loop') throw refuse(`output path ${shown} is a symlink to ${target}, which loops`);
        const resolvedHost = toHost(pfsDir, r.path);
        if (resolvedHost === null) throw refuse(`output path ${shown} is a symlink to ${target}, outside /pfs/out`);
        const tst = await stat(resolvedHost);
        if (tst.isDirectory()) {
          // A link to a folder being walked (or one of its ancestors) would repeat for ever.
          if ([...active].some((a) => within(a, r.path))) {
            throw refuse(`output path ${shown} is a symlink to ${target}, which loops`);
          }
          await walk(r.path, path, new Set([...active, r.path]));
        } else if (tst.isFile()) {
          files.push({ path, hostPath: resolvedHost, size: tst.size });
        } else {
          throw refuse(`output path ${shown} is a symlink to ${target}, which is ${specialKind(tst)}`);
        }
      } else {
        throw refuse(`output path ${shown} is ${specialKind(st)}; only files, folders and symlinks to them can be uploaded`);
      }
    }
  };

  // User code may have replaced the folder itself (`rm -r /pfs/out; ln -s /etc /pfs/out`).
  const outSt = await lstat(join(pfsDir, 'out')).catch(() => null);
  if (outSt === null) throw refuse('/pfs/out was removed by user code');
  if (!outSt.isDirectory()) throw refuse(`/pfs/out was replaced by ${outSt.isSymbolicLink() ? 'a symlink' : 'something other than a folder'}`);
  await walk('/pfs/out', '', new Set(['/pfs/out']));
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function writeEntry(pack: tarStream.Pack, file: OutputFile, signal: AbortSignal): Promise<void> {
  let finished!: Promise<void>;
  const entry = await new Promise<ReturnType<tarStream.Pack['entry']>>((resolveEntry) => {
    finished = new Promise<void>((resolveDone, reject) => {
      resolveEntry(pack.entry({ name: file.path.slice(1), size: file.size, mode: 0o644, type: 'file' }, (err) => (err ? reject(err) : resolveDone())));
    });
  });
  for await (const chunk of createReadStream(file.hostPath, { signal })) {
    if (!entry.write(chunk as Buffer)) await once(entry, 'drain');
  }
  entry.end(() => undefined);
  await finished;
}

/** One tar archive of `files`, each read only as the consumer pulls. Aborting `signal` destroys it. */
export function packOutput(files: readonly OutputFile[], signal: AbortSignal): Readable {
  const pack = tarStream.pack();
  const out = Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
  const produce = async (): Promise<void> => {
    for (const f of files) {
      signal.throwIfAborted();
      await writeEntry(pack, f, signal);
    }
    pack.finalize();
  };
  produce().catch((err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    pack.destroy(e);
    out.destroy(e);
  });
  return out;
}
