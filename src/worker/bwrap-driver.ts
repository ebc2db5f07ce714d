/**
 * Runs user code under bubblewrap (`bwrap`, Debian package `bubblewrap`), the preferred driver.
 *
 * The sandbox user code sees:
 * - the host's root file system, read-only: every top-level entry of `/` is bind-mounted
 *   read-only onto bwrap's fresh root (symlinks such as `/bin -> usr/bin` recreated as
 *   symlinks), and the root itself is remounted read-only at the end. Why not the simpler
 *   `--ro-bind / /`: `/pfs` must then already exist on the host, since nothing can be created
 *   on a read-only root; binding entry by entry leaves the host untouched;
 * - `/pfs`: the worker's scratch folder for this datum, read-write (inputs and `/pfs/out`);
 * - the request's `readOnlyBinds` (a spout's `/pachctl` and `/pach-bin`), read-only, hiding any
 *   host entry of the same name;
 * - a private `/tmp` (tmpfs, mode 1777), a minimal `/dev` and a `/proc` for its own PID namespace;
 * - the host network (user code may talk to the daemon, as it may to pachd in Pachyderm).
 *
 * Working directory: `transform.working_dir` when set, else `/`. Pachyderm uses the image's
 * WORKDIR; the local executor has no image, and `/` is Docker's default WORKDIR (and that of
 * `ubuntu`, Pachyderm's default image).
 *
 * Processes: `--unshare-pid` gives user code its own PID namespace under bwrap's init, so when
 * the program exits or is killed everything it started goes too; `--die-with-parent` does the
 * same if the worker itself dies. `--unshare-ipc` hides the host's System V IPC.
 */
import { readdirSync, readlinkSync, lstatSync } from 'node:fs';
import { defaultBinds, readOnlyBindsProblem, type RunRequest, type RunResult, type UserCodeDriver } from './user-code-driver.js';
import { runSandboxed, type SandboxCommand } from './sandbox-process.js';

/** Top-level paths the sandbox provides itself rather than taking from the host. */
const PROVIDED = new Set(['proc', 'dev', 'tmp', 'pfs']);

export interface BwrapDriverOptions {
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

export class BwrapDriver implements UserCodeDriver {
  readonly name = 'bwrap';
  private readonly bwrap: string;
  private readonly killGraceMs: number;
  private rootArgs: string[] | undefined;

  constructor(opts: BwrapDriverOptions = {}) {
    this.bwrap = opts.bwrap ?? 'bwrap';
    this.killGraceMs = opts.killGraceMs ?? 2000;
  }

  /** The complete bwrap argv for a request (exposed for tests and for `--debug` style logging). */
  args(req: Pick<RunRequest, 'cmd' | 'env' | 'workingDir' | 'pfsDir' | 'readOnlyBinds'>): string[] {
    // The host's top level rarely changes while a worker runs; list it once.
    this.rootArgs ??= hostRootArgs();
    const bound = new Set((req.readOnlyBinds ?? []).map((b) => b.target));
    const root: string[] = [];
    // A host entry hidden by a bind is left out (a symlink there would be followed by the bind).
    for (let i = 0; i < this.rootArgs.length; i += 3) {
      if (!bound.has(this.rootArgs[i + 2] ?? '')) root.push(...this.rootArgs.slice(i, i + 3));
    }
    // After `--tmpfs /tmp` below, so binds under /tmp land inside the private /tmp.
    const binds = [...(req.readOnlyBinds ?? []), ...defaultBinds()].flatMap((b) => ['--ro-bind', b.source, b.target]);
    const args = [
      ...root,
      '--dev', '/dev',
      '--proc', '/proc',
      '--perms', '1777', '--tmpfs', '/tmp',
      '--bind', req.pfsDir, '/pfs',
      ...binds,
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

  run(req: RunRequest, signal: AbortSignal): Promise<RunResult> {
    const problem = readOnlyBindsProblem(req.readOnlyBinds);
    if (problem !== null) return Promise.resolve({ exitCode: null, signal: null, stderrTail: [], durationMs: 0, timedOut: false, startError: problem });
    const cmd: SandboxCommand = {
      program: this.bwrap,
      args: this.args(req),
      // bwrap itself needs nothing from the environment; the program's comes from --setenv.
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' },
      startError: bwrapStartError,
    };
    return runSandboxed(cmd, req, signal, { killGraceMs: this.killGraceMs });
  }
}
