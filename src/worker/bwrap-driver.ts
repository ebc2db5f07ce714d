/**
 * Runs user code under bubblewrap (`bwrap`, Debian package `bubblewrap`), the preferred driver.
 *
 * The sandbox user code sees:
 * - the host's root file system, read-only: every top-level entry of `/` is bind-mounted
 *   read-only onto bwrap's fresh root (symlinks such as `/bin -> usr/bin` recreated as
 *   symlinks), and the root itself is remounted read-only at the end. Why not the simpler
 *   `--ro-bind / /`: `/pfs` must then already exist on the host, since nothing can be created
 *   on a read-only root; binding entry by entry leaves the host untouched;
 * - the host's `/tmp` as it is, under a private writable layer (an overlay whose upper layer is
 *   a tmpfs of this run): a script the user keeps in `/tmp` runs as it does in their shell, while
 *   whatever user code writes there (`/tmp/files` of seed 004's spout) stays its own and goes
 *   when the run ends; the host's `/tmp` is never written;
 * - `/pfs`: the worker's scratch folder for this datum, read-write (inputs and `/pfs/out`);
 * - the request's `readOnlyBinds` (a spout's `/pachctl` and `/pach-bin`), read-only, hiding any
 *   host entry of the same name;
 * - the driver's hidden paths (the daemon's data folder: database, objects, other scratch
 *   folders) as empty read-only folders;
 * - a minimal `/dev` and a `/proc` for its own PID namespace;
 * - the host network (user code may talk to the daemon, as it may to pachd in Pachyderm).
 *
 * bubblewrap 0.8 (Debian 12) cannot mount an overlay itself (`--tmp-overlay` came in 0.9), so
 * the layer is made by a small preamble run under util-linux's `unshare --mount` (with
 * `--map-root-user` when not root): it mounts the tmpfs and the overlay in a mount namespace
 * of its own, on an empty temporary folder, then `exec`s bwrap, which binds that folder on
 * `/tmp`. Nothing is mounted on the host.
 *
 * bwrap's options (the program's environment with its `PACH_TOKEN` among them) travel on file
 * descriptor 3 (`--args 3`), not in argv: argv is in the host's process list for every user.
 * Only the command itself (`transform.cmd`) stays in argv, as bwrap requires.
 *
 * Working directory: `transform.working_dir` when set, else `/`. Pachyderm uses the image's
 * WORKDIR; the local executor has no image, and `/` is Docker's default WORKDIR (and that of
 * `ubuntu`, Pachyderm's default image).
 *
 * Processes: `--unshare-pid` gives user code its own PID namespace under bwrap's init, so when
 * the program exits or is killed everything it started goes too; `--die-with-parent` does the
 * same if the worker itself dies (the preamble `exec`s, so bwrap's parent is the worker).
 * `--unshare-ipc` hides the host's System V IPC.
 */
import { accessSync, constants, readdirSync, readlinkSync, lstatSync } from 'node:fs';
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { SluiceError } from '../errors/index.js';
import { hiddenPaths, readOnlyBindsProblem, type RunRequest, type RunResult, type SandboxOptions, type UserCodeDriver } from './user-code-driver.js';
import { runSandboxed, type SandboxCommand } from './sandbox-process.js';

/** Top-level paths the sandbox provides itself rather than taking from the host. */
const PROVIDED = new Set(['proc', 'dev', 'tmp', 'pfs']);

/**
 * The preamble that makes the private layer over `/tmp`. Arguments: $1 an empty folder to mount
 * it on, then the command to `exec` (bwrap). Failures print one `sluice-sandbox: …` line and
 * exit 125.
 */
export const TMP_LAYER_PREAMBLE = `
L=$1; shift
fail() { echo "sluice-sandbox: $*" >&2; exit 125; }
mount -t tmpfs -o mode=755 sluice-tmp "$L" 2>/dev/null || fail "cannot mount a tmpfs on $L"
mkdir "$L/.upper" "$L/.work" && chmod 1777 "$L/.upper" || fail "cannot prepare the layer over /tmp"
mount -t overlay sluice-tmp -o "lowerdir=/tmp,upperdir=$L/.upper,workdir=$L/.work" "$L" 2>/dev/null || fail "cannot mount an overlay over /tmp"
exec "$@"
`;

export interface BwrapDriverOptions extends SandboxOptions {
  /** The bwrap binary (default: `bwrap` on the worker's PATH). */
  bwrap?: string;
  /** Time between SIGTERM and SIGKILL when a run is aborted or times out (default 2000 ms). */
  killGraceMs?: number;
}

/** `--ro-bind`/`--symlink` arguments that rebuild the host's top level read-only. */
export function hostRootArgs(root = '/'): string[] {
  const args: string[] = [];
  for (const name of readdirSync(root).sort()) {
    if (PROVIDED.has(name)) continue;
    const path = `${root === '/' ? '' : root}/${name}`;
    let isLink = false;
    try {
      isLink = lstatSync(path).isSymbolicLink();
    } catch {
      continue; // vanished between readdir and lstat
    }
    if (isLink) args.push('--symlink', readlinkSync(path), `/${name}`);
    else args.push('--ro-bind-try', path, `/${name}`);
  }
  return args;
}

/** Maps bwrap's own diagnostics (printed instead of running the program) to a reason. */
export function bwrapStartError(line: string, exitCode: number | null): string | null {
  if (exitCode !== 1 || !line.startsWith('bwrap: ')) return null;
  let m = /^bwrap: execvp (.*): No such file or directory$/.exec(line);
  if (m !== null) return `user program "${m[1] ?? ''}" not found`;
  m = /^bwrap: execvp (.*): Permission denied$/.exec(line);
  if (m !== null) return `user program "${m[1] ?? ''}" is not executable`;
  m = /^bwrap: Can't chdir to (.*): No such file or directory$/.exec(line);
  if (m !== null) return `working directory "${m[1] ?? ''}" does not exist`;
  return `the sandbox could not start the program: ${line}`;
}

/** Whether `program` (a path, or a name looked up on PATH) is an executable file. */
function executable(program: string): boolean {
  const candidates = program.includes('/') ? [program] : (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).map((d) => join(d, program));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** bwrapStartError, plus the diagnostics of the `/tmp` layer's preamble and of `unshare`. */
function wrappedStartError(line: string, exitCode: number | null): string | null {
  const m = /^(sluice-sandbox|unshare): (.*)$/.exec(line);
  if (m !== null && exitCode !== 0 && exitCode !== null) return `the sandbox could not start the program: ${m[2] ?? ''}`;
  return bwrapStartError(line, exitCode);
}

export class BwrapDriver implements UserCodeDriver {
  readonly name = 'bwrap';
  private readonly bwrap: string;
  private readonly killGraceMs: number;
  private readonly hide: readonly string[] | undefined;
  private rootArgs: string[] | undefined;

  constructor(opts: BwrapDriverOptions = {}) {
    this.bwrap = opts.bwrap ?? 'bwrap';
    this.killGraceMs = opts.killGraceMs ?? 2000;
    this.hide = opts.hide;
  }

  /**
   * The complete bwrap argument list for a request, with `tmpLayer` (the folder the preamble
   * mounts the layer over `/tmp` on) shown as `/tmp`. Exposed for tests and logging.
   */
  args(req: Pick<RunRequest, 'cmd' | 'env' | 'workingDir' | 'pfsDir' | 'readOnlyBinds'>, tmpLayer = '/tmp'): string[] {
    // The host's top level rarely changes while a worker runs; list it once.
    this.rootArgs ??= hostRootArgs();
    const bound = new Set((req.readOnlyBinds ?? []).map((b) => b.target));
    const root: string[] = [];
    // A host entry hidden by a bind is left out (a symlink there would be followed by the bind).
    for (let i = 0; i < this.rootArgs.length; i += 3) {
      if (!bound.has(this.rootArgs[i + 2] ?? '')) root.push(...this.rootArgs.slice(i, i + 3));
    }
    // After /tmp below, so binds under /tmp land inside the sandbox's layer over it.
    const binds = (req.readOnlyBinds ?? []).flatMap((b) => ['--ro-bind', b.source, b.target]);
    // Last, so a hidden folder is hidden wherever it sits (under /tmp, or inside a bind).
    const hidden = hiddenPaths(this.hide).flatMap((p) => ['--perms', '0555', '--tmpfs', p, '--remount-ro', p]);
    const args = [
      ...root,
      '--dev', '/dev',
      '--proc', '/proc',
      '--bind', tmpLayer, '/tmp',
      '--bind', req.pfsDir, '/pfs',
      ...binds,
      ...hidden,
      '--remount-ro', '/',
      '--unshare-pid',
      '--unshare-ipc',
      '--die-with-parent',
      '--chdir', req.workingDir !== undefined && req.workingDir !== '' ? req.workingDir : '/',
      '--clearenv',
    ];
    for (const [k, v] of Object.entries(req.env)) args.push('--setenv', k, v);
    args.push('--', ...req.cmd);
    return args;
  }

  /** The program and argv that run `req`, and what goes on fd 3 (bwrap's arguments, NUL-separated). */
  command(req: Pick<RunRequest, 'cmd' | 'env' | 'workingDir' | 'pfsDir' | 'readOnlyBinds'>, tmpLayer: string): { program: string; args: string[]; fd3: string } {
    const unshare = ['--mount', '--propagation', 'private'];
    if (process.getuid?.() !== 0) unshare.push('--map-root-user');
    const all = this.args(req, tmpLayer);
    // bwrap takes options from --args but the command only from argv; the command is the
    // spec's transform.cmd, which `ps` would show once it runs anyway.
    const options = all.slice(0, all.indexOf('--'));
    const fd3 = options.map((a) => `${a}\0`).join('');
    return { program: 'unshare', args: [...unshare, 'sh', '-c', TMP_LAYER_PREAMBLE, 'sluice-sandbox', tmpLayer, this.bwrap, '--args', '3', '--', ...req.cmd], fd3 };
  }

  async run(req: RunRequest, signal: AbortSignal): Promise<RunResult> {
    signal.throwIfAborted();
    // bwrap starts behind the preamble's `exec`, so spawn's ENOENT would not tell of it.
    if (!executable(this.bwrap)) throw new SluiceError('PPS_EXECUTOR_UNAVAILABLE', `cannot isolate user code: ${this.bwrap} is not installed`);
    const problem = readOnlyBindsProblem(req.readOnlyBinds);
    if (problem !== null) return { exitCode: null, signal: null, stderrTail: [], durationMs: 0, timedOut: false, startError: problem };
    const nul = [...req.cmd, ...Object.entries(req.env).flat(), req.workingDir ?? ''].find((a) => a.includes('\0'));
    if (nul !== undefined) return { exitCode: null, signal: null, stderrTail: [], durationMs: 0, timedOut: false, startError: `an argument or environment value holds a NUL byte: ${JSON.stringify(nul)}` };
    // An empty mount point for the layer over /tmp; the mounts on it exist only in the
    // sandbox's mount namespace, so on the host it stays an empty folder we remove afterwards.
    const tmpLayer = await mkdtemp(join(tmpdir(), 'sluice-tmp-layer-'));
    try {
      const { program, args, fd3 } = this.command(req, tmpLayer);
      const cmd: SandboxCommand = {
        program,
        args,
        // The tools need only PATH; the program's environment comes from --setenv on fd 3.
        env: { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
        startError: wrappedStartError,
        fd3,
      };
      return await runSandboxed(cmd, req, signal, { killGraceMs: this.killGraceMs });
    } finally {
      await rmdir(tmpLayer).catch(() => undefined);
    }
  }
}
