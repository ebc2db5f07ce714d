/**
 * The machine a benchmark ran on, for the record: CPU count and model, memory, the disk that
 * holds the working directory (from `df`), kernel, node, git and SQLite versions, and the date.
 * Everything is read from /proc and standard tools; a value that cannot be read says so.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg, release } from 'node:os';
import { BUILD_ROOT, PACKAGE_ROOT } from './paths.js';

export interface MachineInfo {
  date: string;
  nproc: number;
  cpuModel: string;
  memory: string;
  disk: string;
  kernel: string;
  node: string;
  git: string;
  /** The code measured: commit, and whether src/ had uncommitted changes. */
  code: string;
  /** 1-minute load average when the run started. */
  load: number;
}

function tryRun(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function memTotal(): string {
  try {
    const m = /^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return m === null ? 'unknown' : `${(Number(m[1]) / 1024 / 1024).toFixed(1)} GiB`;
  } catch {
    return 'unknown';
  }
}

/** `df` of the folder: device, filesystem type, size and free space. */
function diskOf(dir: string): string {
  const out = tryRun('df', ['-hT', dir]);
  const line = out?.split('\n')[1];
  if (line === undefined) return 'unknown';
  const [dev, type, size, , avail, , mount] = line.split(/\s+/);
  const rotational = dev === undefined ? undefined : tryRun('lsblk', ['-ndo', 'ROTA', dev]);
  const kind = rotational === '0' ? ', SSD/virtual' : rotational === '1' ? ', rotational' : '';
  return `${dev ?? '?'} (${type ?? '?'}${kind}) mounted on ${mount ?? '?'}, ${size ?? '?'} total, ${avail ?? '?'} free`;
}

/** The commit checked out, whether src/ differs from it, and when the measured build was made. */
function codeVersion(): string {
  const sha = tryRun('git', ['-C', PACKAGE_ROOT, 'rev-parse', '--short', 'HEAD']);
  if (sha === undefined) return 'unknown';
  const dirty = tryRun('git', ['-C', PACKAGE_ROOT, 'status', '--porcelain', '--', 'src']);
  let built = '';
  try {
    built = `, built ${statSync(join(BUILD_ROOT, 'src', 'server', 'daemon.js')).mtime.toISOString().replace(/\.\d+Z$/, 'Z')}`;
  } catch {
    // no build to date
  }
  return `commit ${sha}${dirty === undefined || dirty === '' ? '' : ' with uncommitted changes in src/'}${built}`;
}

export function machineInfo(workDir: string): MachineInfo {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: Number(tryRun('nproc', [])) || availableParallelism(),
    cpuModel: cpuModel(),
    memory: memTotal(),
    disk: diskOf(workDir),
    kernel: tryRun('uname', ['-r']) ?? release(),
    node: process.version,
    git: tryRun('git', ['--version'])?.replace(/^git version /, '') ?? 'not installed',
    load: loadavg()[0] ?? 0,
    code: codeVersion(),
  };
}

/** One Markdown paragraph describing the machine. */
export function machineMarkdown(m: MachineInfo): string {
  return [
    `Run ${m.date} (code: ${m.code}) on ${m.nproc} CPU${m.nproc === 1 ? '' : 's'} (${m.cpuModel}), ${m.memory} RAM;`,
    `disk: ${m.disk}; Linux ${m.kernel}; node ${m.node}; git ${m.git}.`,
    `Load average (1 min) ${m.load.toFixed(1)} at the start and ${(loadavg()[0] ?? 0).toFixed(1)} at the end (the machine is shared; anything well above 0 means other work competed for the CPUs).`,
  ].join(' ');
}

/** Free bytes on the file system holding `dir`. */
export function freeBytes(dir: string): number {
  const out = tryRun('df', ['-B1', '--output=avail', dir]);
  const n = Number(out?.split('\n')[1]?.trim());
  return Number.isFinite(n) ? n : Number.POSITIVE_INFINITY;
}
