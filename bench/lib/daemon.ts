/**
 * The daemon under test, as users run it: `sluice daemon --data-dir DIR --port 0` in its own
 * process (client and daemon never share a heap or an event loop), optionally under
 * `node --cpu-prof`. Its peak resident memory is the kernel's high-water mark (VmHWM in
 * /proc/<pid>/status), which counts every byte the process ever held, however briefly.
 *
 * `stop()` sends SIGTERM and waits for a clean exit: the daemon finishes in-flight requests and
 * closes its stores, and a profiled daemon writes its profile on the way out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cliEntry } from './paths.js';
import { msSince } from './stats.js';

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ); 100 on every Linux build we run on. */
const CLOCK_TICKS = Number(process.env.CLK_TCK ?? 100);

export interface DaemonOptions {
  /** Run under `--cpu-prof`, writing the profile into this folder. */
  profileDir?: string;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Extra node flags (e.g. `--max-old-space-size=...`). */
  nodeFlags?: string[];
  startTimeoutMs?: number;
  /** Extra `sluice daemon` arguments (e.g. `--objects s3://...`) and environment. */
  args?: string[];
  env?: Record<string, string>;
}

export class BenchDaemon {
  private exited = false;
  private lastPeakKb = 0;
  /** How the process ended, once it has. */
  exitReason: string | undefined;

  private constructor(
    private readonly proc: ChildProcess,
    readonly address: string,
    readonly dataDir: string,
    /** From spawn to "listening" (includes the start-up collector and opening the stores). */
    readonly startMs: number,
    private readonly profileDir: string | undefined,
    private readonly stderrText: () => string,
  ) {
    // VmHWM vanishes with the process: sample it while it lives, so a crash keeps its peak.
    const sampler = setInterval(() => this.peakRssBytes(), 500);
    sampler.unref();
    proc.once('exit', (code, signal) => {
      clearInterval(sampler);
      this.exited = true;
      this.exitReason = signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`;
    });
  }

  static async start(dataDir: string, opts: DaemonOptions = {}): Promise<BenchDaemon> {
    const prof = opts.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.profileDir];
    const started = process.hrtime.bigint();
    const proc = spawn(process.execPath, [...(opts.nodeFlags ?? []), ...prof, cliEntry(), 'daemon', '--data-dir', dataDir, '--port', String(opts.port ?? 0), ...(opts.args ?? [])], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(opts.env !== undefined ? { env: { ...process.env, ...opts.env } } : {}),
    });
    let err = '';
    const timeoutMs = opts.startTimeoutMs ?? 120_000;
    const address = await new Promise<string>((resolveAddr, reject) => {
      const timer = setTimeout(() => reject(new Error(`daemon did not start within ${timeoutMs} ms: ${err}`)), timeoutMs);
      const onData = (d: Buffer): void => {
        if (err.length < 256 * 1024) err += d.toString();
        const m = /listening on http:\/\/(\S+)/.exec(err);
        if (m !== null) {
          clearTimeout(timer);
          resolveAddr(m[1]!);
        }
      };
      proc.stderr?.on('data', onData);
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`daemon exited (${code ?? signal}) before listening: ${err}`));
      });
    });
    return new BenchDaemon(proc, address, dataDir, msSince(started), opts.profileDir, () => err);
  }

  /** False once the process has exited (stopped, or crashed). */
  get alive(): boolean {
    return !this.exited;
  }

  /** The port it listens on. */
  get port(): number {
    return Number(this.address.slice(this.address.lastIndexOf(':') + 1));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  private status(field: 'VmHWM' | 'VmRSS'): number {
    try {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m === null ? 0 : Number(m[1]);
    } catch {
      return 0;
    }
  }

  /** Peak resident set size so far, in bytes (kept after the process exits). */
  peakRssBytes(): number {
    if (!this.exited) this.lastPeakKb = Math.max(this.lastPeakKb, this.status('VmHWM'));
    return this.lastPeakKb * 1024;
  }

  /**
   * CPU time the daemon has used so far (user + system, all threads), in ms. The kernel counts in
   * clock ticks (10 ms), so read it around many operations, not one.
   */
  cpuMs(): number {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    } catch {
      return Number.NaN;
    }
  }

  rssBytes(): number {
    return this.status('VmRSS') * 1024;
  }

  stderr(): string {
    return this.stderrText();
  }

  /** Stops the daemon gracefully; resolves to the .cpuprofile it wrote, if profiled. */
  async stop(timeoutMs = 120_000): Promise<string | undefined> {
    this.peakRssBytes();
    if (!this.exited) {
      const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
      await done;
      clearTimeout(timer);
    }
    if (this.profileDir === undefined) return undefined;
    const files = (await readdir(this.profileDir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
    return files.length === 0 ? undefined : join(this.profileDir, files.sort().at(-1)!);
  }
}
