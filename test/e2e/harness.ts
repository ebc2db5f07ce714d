/**
 * End-to-end test harness: a real daemon (real HTTP, real SQLite file, real object folder) on a
 * fresh temp directory, and an SDK client pointed at it. `startChildDaemon` runs the daemon as a
 * separate process through the CLI binary, for tests that kill it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import tarStream from 'tar-stream';
import { startDaemon, type Daemon } from '../../src/server/daemon.js';
import { Client } from '../../src/client/index.js';
import { packageRoot } from '../../src/lib/version.js';

export interface TestDaemon {
  daemon: Daemon;
  client: Client;
  dataDir: string;
  stop(): Promise<void>;
}

export async function tempDir(prefix = 'sluice-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startTestDaemon(dataDir?: string, opts: { metadata?: string; objects?: string; gcGraceMs?: number } = {}): Promise<TestDaemon> {
  const dir = dataDir ?? (await tempDir());
  const daemon = await startDaemon({
    dataDir: dir, host: '127.0.0.1', port: 0,
    ...(opts.metadata !== undefined ? { metadata: opts.metadata } : {}),
    ...(opts.objects !== undefined ? { objects: opts.objects } : {}),
    ...(opts.gcGraceMs !== undefined ? { gcGraceMs: opts.gcGraceMs } : {}),
  });
  const client = new Client({ address: daemon.address });
  return {
    daemon,
    client,
    dataDir: dir,
    async stop() {
      await client.close();
      await daemon.close();
      if (dataDir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

export const CLI = resolve(packageRoot(), 'bin', 'sluice.js');

export interface ChildDaemon {
  proc: ChildProcess;
  address: string;
  stderr(): string;
}

/** Starts `sluice daemon` as a child process on a free port; resolves once it is listening. */
export async function startChildDaemon(dataDir: string, timeoutMs = 20_000, extra: { args?: string[]; env?: Record<string, string> } = {}): Promise<ChildDaemon> {
  const proc = spawn(process.execPath, [CLI, 'daemon', '--data-dir', dataDir, '--port', '0', ...(extra.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(extra.env !== undefined ? { env: { ...process.env, ...extra.env } } : {}),
  });
  let err = '';
  proc.stdout?.resume();
  const address = await new Promise<string>((resolveAddr, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on http:\/\/([^\s]+)/.exec(err);
      if (m !== null) {
        clearTimeout(timer);
        resolveAddr(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code}: ${err}`));
    });
  });
  return { proc, address, stderr: () => err };
}

/** Polls `fn` until it returns a value other than undefined, or throws after the deadline. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr !== undefined ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A tar archive of the given files (name -> content), built in memory. */
export async function tarOf(files: Record<string, string | Buffer>, extra?: (p: tarStream.Pack) => void): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, data] of Object.entries(files)) pack.entry({ name }, data);
  extra?.(pack);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

export const TEST_POSTGRES_URL = process.env.SLUICE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A PostgreSQL URL with a fresh schema for one test daemon, or undefined when PostgreSQL cannot be
 * reached — which fails the caller when REQUIRE_SERVICES=1 (CI) instead of letting it skip.
 */
export async function freshPostgres(): Promise<string | undefined> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.end();
  } catch (err) {
    if (process.env.REQUIRE_SERVICES === '1') throw new Error(`PostgreSQL is required (REQUIRE_SERVICES=1) but unreachable at ${TEST_POSTGRES_URL}: ${(err as Error).message}`);
    return undefined;
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.searchParams.set('schema', `sluice_test_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`);
  return url.toString();
}

/** Drops a schema made by `freshPostgres`. */
export async function dropPostgres(url: string): Promise<void> {
  const schema = new URL(url).searchParams.get('schema');
  if (schema === null || !/^sluice_test_[a-z0-9_]+$/.test(schema)) return;
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  await client.query(`drop schema if exists ${schema} cascade`);
  await client.end();
}

/**
 * A child daemon for CLI tests, a work folder, and the environment to run the CLI in:
 * PACHD_ADDRESS names the daemon, and PACH_CONFIG a config whose context points nowhere (so the
 * tests also check that PACHD_ADDRESS wins). `stop()` ends the daemon and removes both folders.
 */
export async function startCliDaemon(name: string): Promise<{ daemon: ChildDaemon; dataDir: string; work: string; env: NodeJS.ProcessEnv; stop(): Promise<void> }> {
  const dataDir = await tempDir(`sluice-${name}-data-`);
  const work = await tempDir(`sluice-${name}-work-`);
  const daemon = await startChildDaemon(dataDir);
  const config = join(work, 'config.json');
  await writeFile(config, JSON.stringify({ v2: { active_context: 'nowhere', contexts: { nowhere: { pachd_address: '127.0.0.1:1' } } } }));
  return {
    daemon,
    dataDir,
    work,
    env: { ...process.env, PACHD_ADDRESS: daemon.address, PACH_CONFIG: config },
    async stop() {
      const proc = daemon.proc;
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((resolveExit) => proc.once('exit', resolveExit));
        proc.kill('SIGTERM');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  code: number | null;
  /** stdout as bytes (for binary output) and as text. */
  stdout: Buffer;
  out: string;
  err: string;
}

/** Runs the CLI binary (`node bin/sluice.js …`) with `env`, feeding `input` on stdin. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input: string | Buffer = ''): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const stdout = Buffer.concat(out);
      resolveRun({ code, stdout, out: stdout.toString('utf8'), err });
    });
    child.stdin?.end(input);
  });
}
