/**
 * What a benchmark is and what it is given. A benchmark measures one comparison side by side in
 * one run and returns its figures as Markdown; the runner (`bench/run.ts`) owns the temp folder,
 * the machine record, profiling and BENCHMARKS.md.
 *
 * Profiling: with BENCH_PROFILE set, every daemon a benchmark starts runs under `--cpu-prof`, as
 * do the CLI runs a benchmark marks as worth profiling; the runner summarizes the profiles.
 * Figures from a profiled run are a little slower (the sampler costs a few percent).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BenchDaemon, type DaemonOptions } from './daemon.js';
import { Cli, type RunOptions, type RunResult } from './exec.js';
import type { MachineInfo } from './machine.js';

export interface BenchOutcome {
  /** Tables and notes for the `results` block (the runner adds the machine and date). */
  markdown: string;
  /** False when the sizes were shrunk by environment variables: then BENCHMARKS.md is left alone. */
  fullSize: boolean;
}

export interface Benchmark {
  name: string;
  /** The heading in BENCHMARKS.md. */
  heading: string;
  /** Free disk space needed in the work folder. */
  minFreeBytes: number;
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

export class BenchContext {
  private daemons = 0;
  private readonly running = new Set<BenchDaemon>();

  constructor(
    /** A fresh folder for this benchmark; the runner deletes it afterwards. */
    readonly dir: string,
    readonly machine: MachineInfo,
    /** Where profiles go, when profiling. */
    readonly profileDir: string | undefined,
  ) {}

  log(msg: string): void {
    process.stderr.write(`  [${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  }

  /** Starts `sluice daemon` in a child process on `dataDir` (a fresh folder by default). */
  async startDaemon(label: string, dataDir?: string, opts: DaemonOptions & { profile?: boolean } = {}): Promise<BenchDaemon> {
    const n = ++this.daemons;
    const data = dataDir ?? join(this.dir, `data-${label}`);
    await mkdir(data, { recursive: true });
    const profileDir = this.profileDir === undefined || opts.profile === false ? undefined : join(this.profileDir, `daemon-${n}-${label}`);
    const d = await BenchDaemon.start(data, { ...opts, ...(profileDir !== undefined ? { profileDir } : {}) });
    this.running.add(d);
    return d;
  }

  async stopDaemon(d: BenchDaemon): Promise<void> {
    this.running.delete(d);
    await d.stop();
  }

  /** Stops whatever a failed benchmark left running. */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.running].map((d) => this.stopDaemon(d)));
  }

  /** The CLI pointed at `daemon`, with an empty config file of its own. */
  async cli(daemon: BenchDaemon): Promise<BenchCli> {
    const config = join(this.dir, `pach-config-${daemon.pid}.json`);
    await writeFile(config, JSON.stringify({ v2: { active_context: 'bench', contexts: { bench: { pachd_address: daemon.address } } } }));
    return new BenchCli(new Cli(daemon.address, config), this.profileDir === undefined ? undefined : new Cli(daemon.address, config, this.profileDir));
  }
}

/** The CLI; `profiled` runs go under the profiler when profiling is on. */
export class BenchCli {
  constructor(
    private readonly plain: Cli,
    private readonly withProfiler: Cli | undefined,
  ) {}

  run(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.plain.run(args, opts);
  }

  profiled(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return (this.withProfiler ?? this.plain).run(args, opts);
  }

  env(): NodeJS.ProcessEnv {
    return this.plain.env();
  }
}

/** A positive integer from the environment, or the default. */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}
