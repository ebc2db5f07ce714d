/**
 * The spout loop in-process, against a real daemon whose executor is off (this loop is the
 * spout's only worker), real user code under bubblewrap, and a client that fails on cue: the
 * states it goes through, a commit whose answer is lost (retried, committed once), an archive
 * whose upload fails (dropped, user code restarted from the marker, nothing lost or repeated),
 * and a stop in the middle of an archive (nothing half committed, everything cleaned up).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineInfo, WorkerLogBatch, WorkerStateReport } from '../api/pps-types.js';
import type { BranchInfo, CommitRef, CommitUploadResponse } from '../api/types.js';
import { Client, SluiceError, type Body, type Upload } from '../client/index.js';
import { packageRoot } from '../lib/version.js';
import { startDaemon, type Daemon } from '../server/daemon.js';
import { BwrapDriver } from './bwrap-driver.js';
import { probeDriver } from './detect-driver.js';
import { DAEMON_RETRY, type RetryPolicy } from './retry-policy.js';
import type { SpoutClient, SpoutUpload } from './spout/spout-client.js';
import { runSpoutWorker, SPOUT_RESTART, type SpoutRestartPolicy, type SpoutWorkerState } from './spout-worker.js';

const FIX = join(packageRoot(), 'test', 'fixtures', 'spouts');
const FAST: RetryPolicy = { ...DAEMON_RETRY, initialDelayMs: 5, maxDelayMs: 20, jitter: 0 };
const QUICK_RESTART: SpoutRestartPolicy = { ...SPOUT_RESTART, delays: { ...SPOUT_RESTART.delays, initialDelayMs: 50, maxDelayMs: 200 } };

function transient(what: string): SluiceError {
  return new SluiceError('CLIENT_CONNECTION_FAILED', `injected: ${what}`);
}

/** The real client, with failures injected on cue (the hooks run before or after the real call). */
class FlakyClient implements SpoutClient {
  private readonly inner = new WeakMap<SpoutUpload, Upload>();
  /** Called after each commit call the daemon accepted; throwing makes the caller see a lost answer. */
  afterCommit: (n: number) => void = () => undefined;
  /** Called before each data put of a tar stream; throwing fails the put. */
  beforePut: (n: number) => void = () => undefined;
  /** Commit calls made (accepted or not). */
  commits = 0;
  puts = 0;
  states: WorkerStateReport[] = [];

  constructor(readonly real: Client) {}

  inspectPipeline(name: string): Promise<PipelineInfo> {
    return this.real.inspectPipeline(name);
  }
  inspectBranch(repo: string, name: string): Promise<BranchInfo> {
    return this.real.inspectBranch(repo, name);
  }
  getTar(repo: string, ref: string, path: string): Promise<AsyncIterable<Uint8Array>> {
    return this.real.getTar(repo, ref, path);
  }
  sendLogs(pipeline: string, batch: WorkerLogBatch): Promise<void> {
    return this.real.sendLogs(pipeline, batch);
  }
  async reportWorkerState(pipeline: string, report: WorkerStateReport): Promise<void> {
    this.states.push(report);
    await this.real.reportWorkerState(pipeline, report);
  }

  async createUpload(): Promise<SpoutUpload> {
    const upload = await this.real.createUpload();
    const flaky: SpoutUpload = {
      id: upload.id,
      putTar: async (path: string, body: Body, opts?: { append?: boolean }) => {
        this.beforePut(++this.puts);
        return upload.putTar(path, body, opts);
      },
      deleteFile: (path: string) => upload.deleteFile(path),
      abort: () => upload.abort(),
      commit: async (repo: string, ref: string, opts: { provenance?: CommitRef[]; marker?: { branch: string; upload: SpoutUpload } } = {}): Promise<CommitUploadResponse> => {
        const { marker, ...rest } = opts;
        const markerUpload = marker === undefined ? undefined : this.inner.get(marker.upload);
        const attempt = ++this.commits;
        const res = await upload.commit(repo, ref, { ...rest, ...(marker !== undefined && markerUpload !== undefined ? { marker: { branch: marker.branch, upload: markerUpload } } : {}) });
        this.afterCommit(attempt);
        return res;
      },
    };
    this.inner.set(flaky, upload);
    return flaky;
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function spec(name: string, cmd: string[], env: Record<string, string>, spout: Record<string, unknown> = {}): string {
  return JSON.stringify({ pipeline: { name }, transform: { cmd, env }, spout });
}

describe('spout worker (in-process, real daemon, real user code)', { timeout: 120_000 }, () => {
  let daemon: Daemon;
  let real: Client;
  let dataDir: string;
  let scratch: string;
  let unavailable = '';
  before(async () => {
    const probe = await probeDriver(new BwrapDriver());
    if (!probe.ok) unavailable = probe.detail;
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-spout-worker-'));
    daemon = await startDaemon({ dataDir, host: '127.0.0.1', port: 0, executor: 'none' });
    real = new Client({ address: daemon.address });
    scratch = await mkdtemp(join(tmpdir(), 'sluice-spout-scratch-'));
  });
  after(async () => {
    await real.close();
    await daemon.close();
    await rm(scratch, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = (client: SpoutClient, pipeline: string, extra: { onStateChange?: (s: SpoutWorkerState) => void } = {}): { ac: AbortController; done: Promise<void>; dir: string } => {
    const ac = new AbortController();
    const dir = join(scratch, pipeline);
    const done = runSpoutWorker({
      pipeline, workerId: `${pipeline}-0`, client, daemonAddress: daemon.address, driver: new BwrapDriver({ killGraceMs: 500 }),
      signal: ac.signal, retry: FAST, restart: QUICK_RESTART, scratchRoot: dir, ...extra,
    });
    return { ac, done, dir };
  };

  it('goes starting, running, backoff and again, reporting crashing with the exit code, until stopped', async (t) => {
    if (unavailable !== '') return t.skip(unavailable);
    await real.createPipeline(spec('states', ['sh', '-c', 'echo "bad config" >&2; exit 3'], {}));
    const client = new FlakyClient(real);
    const states: SpoutWorkerState[] = [];
    const w = start(client, 'states', { onStateChange: (s) => states.push(s) });
    await until('two runs', () => states.filter((s) => s.kind === 'backoff').length >= 2);
    await until('a crashing report', () => client.states.find((s) => s.state === 'crashing'));
    w.ac.abort();
    await w.done;
    assert.deepEqual(states.slice(0, 4).map((s) => s.kind), ['starting', 'running', 'backoff', 'starting']);
    assert.equal(states.at(-1)?.kind, 'stopping');
    const backoff = states.find((s) => s.kind === 'backoff');
    assert.ok(backoff?.kind === 'backoff' && /user code exited with code 3/.test(backoff.reason) && /bad config/.test(backoff.reason), JSON.stringify(backoff));
    const crashing = client.states.find((s) => s.state === 'crashing');
    assert.match(crashing?.reason ?? '', /exited with code 3; last lines of stderr:\nbad config\nrestarting in \d+ ms/);
    assert.equal((await real.inspectPipeline('states')).state, 'crashing');
    assert.equal(existsSync(w.dir), false, 'the scratch folder is removed');
  });

  it('retries a commit whose answer was lost, and commits the archive once', async (t) => {
    if (unavailable !== '') return t.skip(unavailable);
    await real.createPipeline(spec('lost', ['sh', join(FIX, 'tar-loop.sh')], { COUNT: '3', INTERVAL: '0.05' }));
    const client = new FlakyClient(real);
    client.afterCommit = (n) => {
      if (n === 2) throw transient('the answer of commit 2 is lost');
    };
    const w = start(client, 'lost');
    const commits = await until('three commits', async () => {
      const cs = await real.listCommits('lost', { branch: 'master' });
      return cs.length >= 3 ? cs : undefined;
    });
    w.ac.abort();
    await w.done;
    assert.equal(commits.length, 3);
    assert.equal((await real.getFileBuffer('lost', 'master', '/file')).toString(), 'line 1\nline 2\nline 3\n', 'archive 2 is there once');
    assert.equal(client.commits, 4, 'one retry, which found that the first attempt had gone through');
  });

  it('drops an archive whose upload fails and restarts the user code from the marker, losing and repeating nothing', async (t) => {
    if (unavailable !== '') return t.skip(unavailable);
    await real.createPipeline(spec('flaky', ['python3', join(FIX, 'counter.py'), 'flaky'], { PAD: '100', MAX_SLEEP: '0.01' }, { marker: 'mark' }));
    const client = new FlakyClient(real);
    client.beforePut = (n) => {
      if (n === 7 || n === 20) throw transient(`put ${n} fails`);
    };
    const w = start(client, 'flaky');
    await until('twenty messages', async () => {
      const m = await real.getFileBuffer('flaky', 'marker', '/mark').catch(() => Buffer.from('0'));
      return Number(m.toString()) >= 20 ? true : undefined;
    });
    w.ac.abort();
    await w.done;
    const k = Number((await real.getFileBuffer('flaky', 'marker', '/mark')).toString());
    const files = (await real.listFile('flaky', 'master', '/')).map((f) => f.path).sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
    assert.deepEqual(files, Array.from({ length: k }, (_v, i) => `/n${i}`));
    for (const f of await real.listFile('flaky', 'master', '/')) assert.equal(f.sizeBytes, `${f.path.slice(2)}\n`.length + 101, `${f.path} is written once`);
    const lines: string[] = [];
    for await (const l of real.getLogs({ pipeline: 'flaky' })) lines.push(l.message);
    assert.equal(lines.filter((l) => /^an archive could not be stored, nothing of it is committed: injected/.test(l)).length, 2, lines.join('\n'));
    assert.ok(lines.some((l) => /^starting user code \(run 3\); marker from flaky@/.test(l)));
  });

  it('stops in the middle of an archive without committing half of it, and cleans up', async (t) => {
    if (unavailable !== '') return t.skip(unavailable);
    // 2 MB archives written slowly: the stop lands inside one.
    await real.createPipeline(spec('stopper', ['python3', join(FIX, 'counter.py'), 'stopper'], { PAD: '2000000', SLOW: '0.001', MAX_SLEEP: '0' }, { marker: 'mark' }));
    const client = new FlakyClient(real);
    const w = start(client, 'stopper');
    await until('two messages', async () => {
      const m = await real.getFileBuffer('stopper', 'marker', '/mark').catch(() => Buffer.from('0'));
      return Number(m.toString()) >= 2 ? true : undefined;
    });
    // Each archive puts its data, then its marker: an odd count is an archive half streamed.
    await until('an archive half streamed', () => (client.puts === 2 * client.commits + 1 ? true : undefined));
    w.ac.abort();
    await w.done;
    const data = await real.listCommits('stopper', { branch: 'master' });
    const marker = await real.listCommits('stopper', { branch: 'marker' });
    assert.equal(data.length, marker.length, 'every data commit has its marker commit');
    assert.ok(data.every((c) => c.finished !== null));
    const k = Number((await real.getFileBuffer('stopper', 'marker', '/mark')).toString());
    assert.equal((await real.listFile('stopper', 'master', '/')).length, k);
    assert.equal(existsSync(w.dir), false, 'the scratch folder is removed');
    // The uploads of the archive in progress and those made ahead are dropped, not left to expire.
    await until('no upload left', async () => {
      const left = await daemon.pfs.ctx.db.selectFrom('stages').select('id').where('id', 'like', 'u/%').execute();
      return left.length === 0 ? true : undefined;
    }, 5_000);
    // The user code is gone with its sandbox.
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      assert.ok(!(cmd.includes('counter.py') && cmd.includes('stopper')), `user code still runs: ${cmd}`);
    }
  });
});
