/**
 * The crash rounds every connector test runs (issue 12): a connector spout on a child daemon
 * while the test publishes numbered messages (0, 1, 2, …) to the real broker and, over at least
 * 10 rounds at random moments (a seeded generator, printed for replays), kills with SIGKILL
 * in turn the daemon itself or the `sluice worker` process (restarted on the same data
 * directory once its orphaned worker has stopped). Each round waits until the spout has
 * committed something since the previous kill. Then publishing stops, the spout catches up,
 * and the repo is read whole: which numbers it holds, and how many times each.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import tarStream from 'tar-stream';
import { Client } from '../../src/client/index.js';
import { mulberry32 } from '../../src/lib/prng.js';
import { eventually, startChildDaemon, tempDir, type ChildDaemon } from './harness.js';

interface Proc {
  pid: number;
  ppid: number;
  argv: string[];
}

async function processes(): Promise<Proc[]> {
  const out: Proc[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(name), ppid, argv });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a service answers, for tests that need it: false (skip) when it does not, unless
 * REQUIRE_SERVICES=1, which turns that into a failure.
 */
export async function serviceUp(what: string, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (err) {
    if (process.env.REQUIRE_SERVICES === '1') throw new Error(`${what} is required (REQUIRE_SERVICES=1) but unreachable: ${(err as Error).message}`);
    return false;
  }
}

/** A name no other run of the test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export interface CrashRun {
  /** How many messages were published (numbers 0 .. published-1). */
  published: number;
  /** How many times each number is in the repo. */
  counts: Map<number, number>;
  kills: { worker: number; daemon: number };
  dataCommits: number;
  markerCommits: number;
  marker: string;
}

export interface CrashOptions {
  t: TestContext;
  pipeline: string;
  /** The spout's `spout` section. */
  spout: Record<string, unknown>;
  /** Publishes message number `n` (its body is the decimal number). */
  publish: (n: number) => Promise<void>;
  /** Publishes this many messages per tick (default 2), a tick every `tickMs` (default 20). */
  perTick?: number;
  tickMs?: number;
  rounds?: number;
}

/** The bodies of every message in the repo: a file per message, or jsonl lines. */
async function bodies(client: Client, repo: string): Promise<string[]> {
  const tar = await client.getTar(repo, 'master', '/');
  const extract = tarStream.extract();
  const out: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (header.type === 'file') {
          if (header.name.endsWith('.jsonl')) {
            for (const line of text.split('\n')) if (line !== '') out.push((JSON.parse(line) as { body: string }).body);
          } else {
            out.push(text);
          }
        }
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  tar.pipe(extract);
  await done;
  return out;
}

export async function crashRounds(opts: CrashOptions): Promise<CrashRun> {
  const { t, pipeline } = opts;
  const rounds = opts.rounds ?? 10;
  const seed = Number(process.env.CONNECTOR_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`seed ${seed} (CONNECTOR_SEED=${seed} replays the kill moments)`);
  const random = mulberry32(seed);
  const dataDir = await tempDir(`sluice-${pipeline}-`);
  let daemon: ChildDaemon = await startChildDaemon(dataDir);
  let client = new Client({ address: daemon.address });
  let published = 0;
  let publishing = true;
  let publishError: unknown;
  const perTick = opts.perTick ?? 2;
  const tickMs = opts.tickMs ?? 20;
  const publisher = (async () => {
    while (publishing) {
      for (let i = 0; i < perTick; i++) await opts.publish(published++);
      await new Promise((r) => setTimeout(r, tickMs));
    }
  })().catch((err: unknown) => {
    publishError = err;
  });
  const isWorker = (p: Proc): boolean => {
    const i = p.argv.indexOf('--pipeline');
    return p.argv.includes('worker') && i !== -1 && p.argv[i + 1] === pipeline && p.ppid === daemon.proc.pid;
  };
  const marker = async (): Promise<string> => (await client.getFileBuffer(pipeline, 'marker', '/position').catch(() => Buffer.from(''))).toString();
  try {
    await client.createPipeline(JSON.stringify({ pipeline: { name: pipeline }, spout: opts.spout }));
    let last = await eventually(async () => ((await marker()) !== '' ? marker() : undefined), 30_000, 'the first commit');
    const kills = { worker: 0, daemon: 0 };
    for (let round = 0; round < rounds; round++) {
      // A random moment after the spout has committed again since the last kill.
      const before = last;
      last = await eventually(async () => {
        const m = await marker();
        return m !== before ? m : undefined;
      }, 40_000, `a commit before round ${round + 1}`);
      if (process.env.CONNECTOR_DEBUG === '1') t.diagnostic(`${new Date().toISOString()} round ${round + 1}: committed again`);
      await new Promise((r) => setTimeout(r, Math.floor(random() * 400)));
      if (publishError !== undefined) throw publishError;
      // Daemon and worker kills alternate: a daemon restart also resets the executor's restart
      // backoff, which would otherwise grow to 15 s over a run of worker kills.
      if (round % 2 === 0) {
        const d = daemon;
        const workers = (await processes()).filter(isWorker).map((p) => p.pid);
        d.proc.kill('SIGKILL');
        await new Promise((resolve) => (d.proc.exitCode !== null || d.proc.signalCode !== null ? resolve(undefined) : d.proc.once('exit', resolve)));
        // The orphaned worker stops by itself before the daemon comes back (one copy at a time).
        await eventually(async () => (workers.every((pid) => !alive(pid)) ? true : undefined), 20_000, 'the orphaned worker to stop');
        await client.close();
        daemon = await startChildDaemon(dataDir);
        client = new Client({ address: daemon.address });
        kills.daemon++;
      } else {
        const victim = await eventually(async () => (await processes()).find(isWorker)?.pid, 30_000, 'the worker to kill');
        process.kill(victim, 'SIGKILL');
        kills.worker++;
      }
    }
    publishing = false;
    await publisher;
    if (publishError !== undefined) throw publishError;
    t.diagnostic(`kills: ${JSON.stringify(kills)}; ${published} messages published`);
    // Catch up: every number is in the repo.
    let counts = new Map<number, number>();
    await eventually(async () => {
      counts = new Map();
      for (const b of await bodies(client, pipeline)) counts.set(Number(b), (counts.get(Number(b)) ?? 0) + 1);
      return counts.size >= published ? true : undefined;
    }, 90_000, `all ${published} messages in the repo`).catch(() => {
      // The assertions below say which are missing.
      t.diagnostic(`after 90 s, ${counts.size} of ${published} messages are in the repo`);
    });
    await client.stopPipeline(pipeline);
    counts = new Map();
    for (const b of await bodies(client, pipeline)) counts.set(Number(b), (counts.get(Number(b)) ?? 0) + 1);
    if (process.env.CONNECTOR_DEBUG === '1') {
      for await (const l of client.getLogs({ pipeline })) t.diagnostic(`${new Date(l.ts).toISOString()} ${l.worker ?? ''} ${l.message.slice(0, 300)}`);
    }
    const dataCommits = (await client.listCommits(pipeline, { branch: 'master' })).length;
    const markerCommits = (await client.listCommits(pipeline, { branch: 'marker' })).length;
    const report = await client.fsck();
    assert.deepEqual(report.errors, []);
    return { published, counts, kills, dataCommits, markerCommits, marker: await marker() };
  } catch (err) {
    // What the spout said about itself, to tell why.
    try {
      const p = await client.inspectPipeline(pipeline);
      t.diagnostic(`pipeline ${pipeline}: ${p.state}: ${p.reason}`);
      const lines: string[] = [];
      for await (const l of client.getLogs({ pipeline })) lines.push(`${new Date(l.ts).toISOString()} ${l.worker ?? ''} ${l.message.slice(0, 300)}`);
      for (const l of lines.slice(-30)) t.diagnostic(l);
      t.diagnostic(`daemon stderr: ${daemon.stderr().slice(-3000)}`);
    } catch {
      // the daemon is gone; the error says enough
    }
    throw err;
  } finally {
    publishing = false;
    await publisher;
    await client.close();
    if (daemon.proc.exitCode === null && daemon.proc.signalCode === null) {
      const exited = new Promise((resolve) => daemon.proc.once('exit', resolve));
      daemon.proc.kill('SIGTERM');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Every number 0..published-1 exactly once. */
export function assertExactlyOnce(run: CrashRun): void {
  const missing: number[] = [];
  const repeated: number[] = [];
  for (let n = 0; n < run.published; n++) {
    const c = run.counts.get(n) ?? 0;
    if (c === 0) missing.push(n);
    if (c > 1) repeated.push(n);
  }
  const extra = [...run.counts.keys()].filter((n) => !(n >= 0 && n < run.published));
  assert.deepEqual({ missing: missing.slice(0, 20), repeated: repeated.slice(0, 20), extra: extra.slice(0, 20) }, { missing: [], repeated: [], extra: [] });
  assert.equal(run.dataCommits, run.markerCommits, 'every data commit has its marker commit');
}

/** Every number at least once; returns how many copies beyond the first there are. */
export function assertAtLeastOnce(run: CrashRun): number {
  const missing: number[] = [];
  let duplicates = 0;
  for (let n = 0; n < run.published; n++) {
    const c = run.counts.get(n) ?? 0;
    if (c === 0) missing.push(n);
    else duplicates += c - 1;
  }
  assert.deepEqual(missing.slice(0, 20), [], 'no message is lost');
  return duplicates;
}
