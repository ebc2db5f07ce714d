/**
 * Runs user code with util-linux's `unshare(1)`, for machines without bubblewrap.
 *
 * A bind mount of the scratch folder on `/pfs` alone is not enough: `/pfs` does not exist on the
 * host, and creating it there would write outside the worker's folders (and needs root). So,
 * like bwrap, the preamble below builds a new root inside a private mount namespace: a tmpfs
 * on an empty temporary mount point, every top-level host entry bind-mounted read-only into it
 * (symlinks recreated), a minimal `/dev`, a fresh `/proc`, the host's `/tmp` under a private
 * writable layer (an overlay whose upper layer is a tmpfs of this run, as the bwrap driver
 * gives), the scratch folder on `/pfs`, the driver's hidden paths (the daemon's data folder) as
 * empty read-only folders; then it remounts that root read-only and `chroot`s into it.
 *
 * As root the namespaces are created directly; otherwise `--map-root-user` creates a user
 * namespace first (this needs unprivileged user namespaces, the same thing bwrap needs when it
 * is not setuid). The read-only remount of each host entry is best effort: a kernel may refuse
 * it for a locked mount, in which case that entry stays as writable as it is for the worker.
 *
 * Processes: `--pid --fork` gives a new PID namespace whose init is the preamble's shell (kept as
 * PID 1 on purpose, so user code is not PID 1 and keeps default signal handling); `--kill-child`
 * takes the namespace down if unshare dies, and `setpriv --pdeathsig` (when present) kills
 * unshare if the worker dies.
 *
 * The program's environment travels on file descriptor 3, as `NAME='value'` lines a shell sources
 * inside the new root just before it `exec`s the program (read with `cat`: node's extra stdio
 * is a socket, which `/dev/fd/3` cannot open), never in argv (which every user of
 * the host can read in the process list). A name that is not a shell name (an input called
 * `my-images`) cannot be sourced: those few travel as `env NAME=VALUE… program` in argv, and a
 * program name holding `=` is then refused. The program also gets `PWD`, as from any shell. Exit statuses of programs killed by a signal appear as 128+n.
 */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { hiddenPaths, readOnlyBindsProblem, type RunRequest, type RunResult, type SandboxOptions, type UserCodeDriver } from './user-code-driver.js';
import { runSandboxed, type SandboxCommand } from './sandbox-process.js';

/**
 * Arguments: $1 new root mount point, $2 the host folder for /pfs, $3 working directory, $4 the
 * number N of read-only binds, then N pairs `source target`, then the number H of hidden paths
 * and the H paths, then the program's argv. The environment comes on fd 3. Setup failures print
 * one `sluice-sandbox: …` line and exit 125.
 */
export const UNSHARE_PREAMBLE = `
R=$1; P=$2; W=$3; N=$4; shift 4
fail() { echo "sluice-sandbox: $*" >&2; exit 125; }
B=" "; i=0
while [ "$i" -lt "$N" ]; do eval "BS$i=\\$1; BT$i=\\$2"; B="$B\${2#/} "; shift 2; i=$((i+1)); done
H=$1; shift; j=0
while [ "$j" -lt "$H" ]; do eval "HP$j=\\$1"; shift; j=$((j+1)); done
mount -t tmpfs -o mode=755 sluice-root "$R" 2>/dev/null || fail "cannot mount a tmpfs on $R"
for e in /* /.[!.]* /..?*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  n=\${e#/}
  case "$n" in proc|dev|tmp|pfs) continue ;; esac
  case "$B" in *" $n "*) continue ;; esac
  if [ -L "$e" ]; then
    ln -s "$(readlink "$e")" "$R/$n" || fail "cannot link /$n"
  elif [ -d "$e" ]; then
    mkdir "$R/$n" && mount --rbind "$e" "$R/$n" 2>/dev/null || fail "cannot bind /$n"
    mount -o remount,bind,ro "$R/$n" 2>/dev/null || true
  else
    : > "$R/$n" && mount --bind "$e" "$R/$n" 2>/dev/null || fail "cannot bind /$n"
    mount -o remount,bind,ro "$R/$n" 2>/dev/null || true
  fi
done
mkdir "$R/dev" "$R/proc" "$R/tmp" "$R/pfs" || fail "cannot create the sandbox's top-level folders"
mount -t tmpfs -o mode=755 sluice-dev "$R/dev" 2>/dev/null || fail "cannot mount /dev"
for d in null zero full random urandom tty; do
  [ -e "/dev/$d" ] || continue
  : > "$R/dev/$d" && mount --bind "/dev/$d" "$R/dev/$d" 2>/dev/null || fail "cannot bind /dev/$d"
done
ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
mkdir "$R/dev/shm" && mount -t tmpfs -o mode=1777 sluice-shm "$R/dev/shm" 2>/dev/null || fail "cannot mount /dev/shm"
mount -t proc proc "$R/proc" 2>/dev/null || fail "cannot mount /proc"
mount -t tmpfs -o mode=755 sluice-tmp "$R/tmp" 2>/dev/null || fail "cannot mount a tmpfs on /tmp"
mkdir "$R/tmp/.upper" "$R/tmp/.work" && chmod 1777 "$R/tmp/.upper" || fail "cannot prepare the layer over /tmp"
mount -t overlay sluice-tmp -o "lowerdir=/tmp,upperdir=$R/tmp/.upper,workdir=$R/tmp/.work" "$R/tmp" 2>/dev/null || fail "cannot mount an overlay over /tmp"
mount --bind "$P" "$R/pfs" 2>/dev/null || fail "cannot bind $P on /pfs"
i=0
while [ "$i" -lt "$N" ]; do
  eval "s=\\$BS$i; t=\\$BT$i"
  if [ -d "$s" ]; then mkdir -p "$R$t"; else mkdir -p "$(dirname "$R$t")" && : > "$R$t"; fi || fail "cannot create $t"
  mount --bind "$s" "$R$t" 2>/dev/null || fail "cannot bind $s on $t"
  mount -o remount,bind,ro "$R$t" 2>/dev/null || fail "cannot make $t read-only"
  i=$((i+1))
done
j=0
while [ "$j" -lt "$H" ]; do
  eval "h=\\$HP$j"
  if [ -d "$R$h" ]; then
    mount -t tmpfs -o ro,mode=555 sluice-hidden "$R$h" 2>/dev/null || fail "cannot hide $h"
  fi
  j=$((j+1))
done
mount -o remount,bind,ro "$R" 2>/dev/null || fail "cannot make the sandbox root read-only"
chroot "$R" /usr/bin/env -i -C "$W" /bin/sh -c 'unset PWD; set -a; eval "$(cat <&3)" || exit 125; set +a; exec 3<&-; exec "$@"' sluice-exec "$@"
exit $?
`;

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The environment as the lines the sandbox's last shell sources (see the module comment). */
export function environmentScript(env: Readonly<Record<string, string>>): string {
  return Object.entries(env).filter(([k]) => SHELL_NAME.test(k)).map(([k, v]) => `${k}=${shellQuote(v)}\n`).join('');
}

/** The variables `environmentScript` cannot carry, as `NAME=VALUE` arguments for env(1). */
function oddVariables(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).filter(([k]) => !SHELL_NAME.test(k)).map(([k, v]) => `${k}=${v}`);
}

/** Maps the preamble's, env's and unshare's own diagnostics to a reason. */
export function unshareStartError(line: string, exitCode: number | null): string | null {
  if (exitCode === null || exitCode === 0) return null;
  let m = /^(?:\/usr\/bin\/)?env: ['‘](.*)['’]: No such file or directory$/.exec(line);
  if (m !== null && exitCode === 127) return `user program "${m[1] ?? ''}" not found`;
  m = /^(?:\/usr\/bin\/)?env: ['‘](.*)['’]: Permission denied$/.exec(line);
  if (m !== null && exitCode === 126) return `user program "${m[1] ?? ''}" is not executable`;
  m = /^(?:\/usr\/bin\/)?env: cannot change directory to ['‘](.*)['’]: No such file or directory$/.exec(line);
  if (m !== null && exitCode === 125) return `working directory "${m[1] ?? ''}" does not exist`;
  m = /^sluice-exec: \d+: exec: (.*): not found$/.exec(line);
  if (m !== null && exitCode === 127) return `user program "${m[1] ?? ''}" not found`;
  m = /^sluice-exec: \d+: exec: (.*): Permission denied$/.exec(line);
  if (m !== null && exitCode === 126) return `user program "${m[1] ?? ''}" is not executable`;
  m = /^(sluice-sandbox|unshare|setpriv|chroot): (.*)$/.exec(line);
  if (m !== null) return `the sandbox could not start the program: ${m[2] ?? ''}`;
  return null;
}

function onPath(program: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

export interface UnshareDriverOptions extends SandboxOptions {
  /** Time between SIGTERM and SIGKILL when a run is aborted or times out (default 2000 ms). */
  killGraceMs?: number;
}

export class UnshareDriver implements UserCodeDriver {
  readonly name = 'unshare';
  private readonly killGraceMs: number;
  private readonly setpriv: boolean;
  private readonly hide: readonly string[] | undefined;

  constructor(opts: UnshareDriverOptions = {}) {
    this.killGraceMs = opts.killGraceMs ?? 2000;
    this.hide = opts.hide;
    this.setpriv = onPath('setpriv');
  }

  /** The program and argv that run `req` with its new root mounted on `rootMount`. */
  command(req: Pick<RunRequest, 'cmd' | 'env' | 'workingDir' | 'pfsDir' | 'readOnlyBinds'>, rootMount: string): { program: string; args: string[] } {
    const unshare = ['unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child'];
    if (process.getuid?.() !== 0) unshare.push('--map-root-user');
    const wd = req.workingDir !== undefined && req.workingDir !== '' ? req.workingDir : '/';
    const binds = req.readOnlyBinds ?? [];
    const bindArgs = [String(binds.length), ...binds.flatMap((b) => [b.source, b.target])];
    const hidden = hiddenPaths(this.hide);
    const odd = oddVariables(req.env);
    const userArgv = odd.length > 0 ? ['/usr/bin/env', ...odd, ...req.cmd] : req.cmd;
    const argv = [...unshare, 'sh', '-c', UNSHARE_PREAMBLE, 'sluice-sandbox', rootMount, req.pfsDir, wd, ...bindArgs, String(hidden.length), ...hidden, ...userArgv];
    if (this.setpriv) return { program: 'setpriv', args: ['--pdeathsig', 'SIGKILL', ...argv] };
    const [program, ...args] = argv;
    return { program: program ?? 'unshare', args };
  }

  async run(req: RunRequest, signal: AbortSignal): Promise<RunResult> {
    signal.throwIfAborted();
    const problem = readOnlyBindsProblem(req.readOnlyBinds);
    if (problem !== null) return { exitCode: null, signal: null, stderrTail: [], durationMs: 0, timedOut: false, startError: problem };
    const program = req.cmd[0] ?? '';
    if (program.includes('=') && oddVariables(req.env).length > 0) {
      return { exitCode: null, signal: null, stderrTail: [], durationMs: 0, timedOut: false, startError: `user program "${program}" contains "=", which the unshare driver cannot run with variables that are not shell names` };
    }
    // An empty mount point for the new root; the tmpfs on it exists only in the sandbox's
    // mount namespace, so on the host it stays an empty folder we remove afterwards.
    const rootMount = await mkdtemp(join(tmpdir(), 'sluice-root-'));
    try {
      const { program: tool, args } = this.command(req, rootMount);
      const cmd: SandboxCommand = {
        program: tool,
        args,
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
        startError: unshareStartError,
        fd3: environmentScript(req.env),
      };
      return await runSandboxed(cmd, req, signal, { killGraceMs: this.killGraceMs });
    } finally {
      await rmdir(rootMount).catch(() => undefined);
    }
  }
}
