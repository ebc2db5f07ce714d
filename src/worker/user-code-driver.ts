/**
 * The seam between a worker and the user's program: `UserCodeDriver` runs one command in a
 * private mount namespace where a host folder appears as `/pfs`, streams its output line by
 * line and reports how it ended. Tests (and a future Kubernetes executor, which runs user code
 * in the pod itself) replace it; the worker never spawns user code any other way.
 * Implementations: `BwrapDriver`, `UnshareDriver`; `detectDriver` (detect-driver.ts) picks one.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute } from 'node:path';

export type OutputStream = 'stdout' | 'stderr';

export interface RunRequest {
  /** argv; the first element is the program, looked up on `env.PATH` inside the sandbox. */
  cmd: string[];
  /** Bytes for stdin, already joined (Pachyderm: lines joined with "\n" plus a trailing "\n"). */
  stdin: string;
  /** The complete environment of the program; nothing else is inherited. */
  env: Record<string, string>;
  /** Working directory inside the sandbox; `/` when unset (see BwrapDriver for why). */
  workingDir?: string;
  /** Host folder that appears as `/pfs` inside the sandbox. */
  pfsDir: string;
  /** Called for every complete line (without its "\n") as it arrives, and for a trailing partial line at exit. */
  onLine: (stream: OutputStream, line: string) => void;
  /** Kill the program after this many milliseconds (0 or unset: no limit). */
  timeoutMs?: number;
  /**
   * Host files or folders that appear read-only inside the sandbox (a spout's `/pachctl` config
   * and `/pach-bin` CLI). Each `target` is a top-level path (`/name`) that the sandbox does not
   * provide itself (`/pfs`, `/tmp`, `/dev`, `/proc`), where a host entry of the same name is
   * hidden, or a folder under `/tmp` (shown inside the sandbox's own layer over the host's `/tmp`).
   */
  readOnlyBinds?: ReadOnlyBind[];
}

export interface ReadOnlyBind {
  /** Absolute host path of an existing file or folder. */
  source: string;
  /** Where it appears in the sandbox: `/<name>`. */
  target: string;
}

/** Top-level names the sandbox provides itself; a bind may not take them. */
const SANDBOX_OWN = new Set(['/pfs', '/tmp', '/dev', '/proc']);

const UNDER_TMP = /^\/tmp(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)+$/;

/**
 * What every sandbox of one worker shares, given to the driver when it is made: the host paths
 * user code must not see at all (the daemon's data folder: its database, objects and the
 * workers' scratch folders). Each appears in the sandbox as an empty, read-only folder.
 */
export interface SandboxOptions {
  /** Absolute host paths hidden from user code (missing ones are ignored). */
  hide?: readonly string[];
}

/** `hide` made absolute, existing and free of symlinks (a bind or tmpfs needs the real path). */
export function hiddenPaths(hide: readonly string[] | undefined): string[] {
  const out = new Set<string>();
  for (const p of hide ?? []) {
    if (!isAbsolute(p)) continue;
    try {
      const real = realpathSync(p);
      if (real !== '/') out.add(real);
    } catch {
      // does not exist: nothing to hide
    }
  }
  return [...out].sort();
}

/**
 * Checks `binds` against the rules of `RunRequest.readOnlyBinds`; returns the reason a bind is
 * refused, or null when all are fine.
 */
export function readOnlyBindsProblem(binds: readonly ReadOnlyBind[] | undefined): string | null {
  const seen = new Set<string>();
  for (const b of binds ?? []) {
    const topLevel = /^\/[A-Za-z0-9._-]+$/.test(b.target) && b.target !== '/.' && b.target !== '/..';
    if (!topLevel && !UNDER_TMP.test(b.target)) return `bind target ${JSON.stringify(b.target)} must be a top-level path such as /pachctl, or a folder under /tmp`;
    if (SANDBOX_OWN.has(b.target)) return `bind target ${b.target} is provided by the sandbox itself`;
    if (seen.has(b.target)) return `bind target ${b.target} is given twice`;
    if (!b.source.startsWith('/')) return `bind source ${JSON.stringify(b.source)} must be an absolute path`;
    seen.add(b.target);
  }
  return null;
}

export interface RunResult {
  /** The program's exit status; null when it was killed by a signal. */
  exitCode: number | null;
  /** The signal that ended it (`SIGKILL`, …), or null. */
  signal: string | null;
  /** The last lines it wrote to stderr (at most `STDERR_TAIL_LINES`). */
  stderrTail: string[];
  durationMs: number;
  /** True when `timeoutMs` elapsed and the driver killed the program. */
  timedOut: boolean;
  /**
   * Why the program never ran (`user program "x" not found`, a missing working directory), as
   * reported by the sandbox tool; null when it started. Callers treat this as a failed run.
   */
  startError: string | null;
}

export interface UserCodeDriver {
  /** `bwrap`, `unshare`, or a test double's name; shown in the worker's logs. */
  readonly name: string;
  /**
   * Runs `req.cmd` and resolves when it has exited and every process it started is gone.
   * Aborting `signal` kills the whole process tree (SIGTERM, then SIGKILL after a grace period)
   * and then rejects with the signal's reason.
   */
  run(req: RunRequest, signal: AbortSignal): Promise<RunResult>;
}

export const STDERR_TAIL_LINES = 20;
