/**
 * Running the things a benchmark compares: a command (cp, sync, git), or the Sluice CLI as a user
 * runs it (a fresh node process per command, finding the daemon through PACHD_ADDRESS). Each run
 * is timed with the monotonic clock from spawn to exit, so process start-up is included, as a
 * user would pay it. A non-zero exit is an error that carries the command's stderr.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cliEntry } from './paths.js';
import { msSince } from './stats.js';

export interface RunResult {
  ms: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Keep at most this many bytes of stdout (default 1 MiB); the rest is read and dropped. */
  maxStdout?: number;
}

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const start = process.hrtime.bigint();
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const limit = opts.maxStdout ?? 1024 * 1024;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    if (stdout.length < limit) stdout += d.toString('utf8');
  });
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += d.toString('utf8');
  });
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolveExit(c));
  });
  const ms = msSince(start);
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${stderr.trim() || stdout.trim().slice(0, 500)}`);
  return { ms, stdout, stderr };
}

/** The Sluice CLI against one daemon, optionally under the V8 CPU profiler. */
export class Cli {
  private runs = 0;

  constructor(
    readonly address: string,
    /** Empty config file location, so a user's ~/.pachyderm/config.json cannot interfere. */
    private readonly configPath: string,
    /** When set, every CLI process writes a .cpuprofile under this folder. */
    private readonly profileDir?: string,
  ) {}

  env(): NodeJS.ProcessEnv {
    return { ...process.env, PACHD_ADDRESS: this.address, PACH_CONFIG: this.configPath };
  }

  async run(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const prof = this.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(this.profileDir, `cli-${++this.runs}`)];
    return run(process.execPath, [...prof, cliEntry(), ...args], { ...opts, env: { ...this.env(), ...opts.env } });
  }
}
