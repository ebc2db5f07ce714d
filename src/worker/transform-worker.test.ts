/**
 * The transform loop: against a scripted client and a fake driver (states, retries, stopping,
 * the executor notice), and end to end against a real daemon whose executor is off, with this
 * loop as its only worker and real user code under bubblewrap.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClaimRequest, DatumResult, DatumTask, WorkerLogBatch } from '../api/pps-types.js';
import { Client, SluiceError } from '../client/index.js';
import { startDaemon, type Daemon } from '../server/daemon.js';
import { packageRoot } from '../lib/version.js';
import { BwrapDriver } from './bwrap-driver.js';
import { probeDriver } from './detect-driver.js';
import { DAEMON_RETRY, type RetryPolicy } from './retry-policy.js';
import { runTransformWorker, type TransformWorkerState } from './transform-worker.js';
import type { RunRequest, RunResult, UserCodeDriver } from './user-code-driver.js';
import type { UploadSink, WorkerClient } from './worker-client.js';

const FAST: RetryPolicy = { ...DAEMON_RETRY, initialDelayMs: 1, maxDelayMs: 4, jitter: 0 };

function datumTask(job: string, datum: string, over: Partial<DatumTask['transform']> = {}): DatumTask {
  return {
    pipeline: 'p', pipelineVersion: 1, job, datum, inputs: [], attempt: 1, datumTries: 3, datumTimeoutMs: 0,
    transform: { cmd: ['make-output'], stdin: [], env: {}, workingDir: '', acceptReturnCode: [], errCmd: [], errStdin: [], user: '', image: 'python:3.11', ...over },
  };
}

type ClaimStep = DatumTask | null | Error | 'block';

/** A daemon stand-in: claims come from a script; results, logs and uploads are recorded. */
class ScriptedClient implements WorkerClient {
  claims: ClaimStep[] = [];
  claimCalls = 0;
  results: DatumResult[] = [];
  logs: WorkerLogBatch['lines'] = [];
  uploads: Array<{ id: string; bytes: number }> = [];
  reportFailures: Error[] = [];
  onClaim?: () => void;

  async claimDatum(_p: string, _req: ClaimRequest, signal?: AbortSignal): Promise<DatumTask | null> {
    this.claimCalls++;
    this.onClaim?.();
    const step = this.claims.length > 0 ? this.claims.shift() : 'block';
    if (step === 'block') {
      // A long poll with no work: held until the worker gives up on it.
      return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    if (step instanceof Error) throw step;
    return step ?? null;
  }
  async reportDatum(_p: string, r: DatumResult): Promise<void> {
    const f = this.reportFailures.shift();
    if (f !== undefined) throw f;
    this.results.push(r);
  }
  async sendLogs(_p: string, b: WorkerLogBatch): Promise<void> {
    this.logs.push(...b.lines);
  }
  async createUpload(): Promise<UploadSink> {
    const rec = { id: `u${this.uploads.length}`, bytes: 0 };
    this.uploads.push(rec);
    return {
      id: rec.id,
      putTar: async (_path, body) => {
        for await (const c of body as AsyncIterable<Buffer>) rec.bytes += c.length;
        return { files: 1, sizeBytes: rec.bytes };
      },
      abort: async () => undefined,
    };
  }
  async getFile(): Promise<never> {
    throw new Error('no inputs in these tests');
  }
  async getTar(): Promise<never> {
    throw new Error('no inputs in these tests');
  }
}

/** Writes one output file, or waits for the abort when the command says `hang`. */
class FakeDriver implements UserCodeDriver {
  readonly name = 'fake';
  runs: RunRequest[] = [];
  async run(req: RunRequest, signal: AbortSignal): Promise<RunResult> {
    this.runs.push(req);
    req.onLine('stdout', `running ${req.cmd.join(' ')}`);
    if (req.cmd[0] === 'hang') {
      await new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    await writeFile(join(req.pfsDir, 'out', 'result.txt'), 'ok\n');
    return { exitCode: 0, signal: null, stderrTail: [], durationMs: 1, timedOut: false, startError: null };
  }
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('transform worker (scripted daemon)', () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'sluice-tw-test-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('claims, runs and reports datums, then stops when the signal aborts', async () => {
    const client = new ScriptedClient();
    client.claims = [datumTask('j1', 'd1'), null, datumTask('j1', 'd2'), datumTask('j2', 'd3')];
    const driver = new FakeDriver();
    const states: TransformWorkerState['kind'][] = [];
    const ac = new AbortController();
    const done = runTransformWorker({ pipeline: 'p', workerId: 'w0', client, driver, signal: ac.signal, retry: FAST, scratchRoot: scratch, claimWaitMs: 5, onStateChange: (s) => states.push(s.kind) });
    await until('three results', () => client.results.length === 3);
    ac.abort();
    await done;
    assert.deepEqual(client.results.map((r) => [r.datum, r.success, r.worker]), [['d1', true, 'w0'], ['d2', true, 'w0'], ['d3', true, 'w0']]);
    assert.deepEqual(client.uploads.map((u) => u.id), ['u0', 'u1', 'u2']);
    assert.ok(client.uploads.every((u) => u.bytes > 0));
    assert.deepEqual(states.slice(0, 4), ['claiming', 'running', 'idle', 'claiming']);
    assert.equal(states.at(-1), 'stopping');
    // User code's lines reach the daemon, tagged with their job and datum.
    assert.ok(client.logs.some((l) => l.stream === 'stdout' && l.message === 'running make-output' && l.datum === 'd2' && l.job === 'j1'));
  });

  it('takes the next datum from the answer to its report, and claims again only when that is empty', async () => {
    class Combined extends ScriptedClient {
      nextAfterReport: Array<DatumTask | null> = [];
      async reportDatumAndClaim(p: string, r: DatumResult): Promise<DatumTask | null> {
        await this.reportDatum(p, r);
        return this.nextAfterReport.shift() ?? null;
      }
    }
    const client = new Combined();
    client.claims = [datumTask('j1', 'd1'), datumTask('j1', 'd4')];
    client.nextAfterReport = [datumTask('j1', 'd2'), datumTask('j1', 'd3'), null];
    const ac = new AbortController();
    const done = runTransformWorker({ pipeline: 'p', workerId: 'w0', client, driver: new FakeDriver(), signal: ac.signal, retry: FAST, scratchRoot: scratch, claimWaitMs: 5 });
    await until('four results', () => client.results.length === 4);
    ac.abort();
    await done;
    assert.deepEqual(client.results.map((r) => r.datum), ['d1', 'd2', 'd3', 'd4']);
    // d2 and d3 came with the reports of d1 and d2; d4 needed a claim of its own (and a fifth one blocks until the abort).
    assert.equal(client.claimCalls, 3);
  });

  it('says once per job that the local executor runs the command on the host', async () => {
    const client = new ScriptedClient();
    client.claims = [datumTask('j1', 'd1', { user: 'nobody' }), datumTask('j1', 'd2'), datumTask('j2', 'd3')];
    const ac = new AbortController();
    const done = runTransformWorker({ pipeline: 'p', workerId: 'w0', client, driver: new FakeDriver(), signal: ac.signal, retry: FAST, scratchRoot: scratch });
    await until('three results', () => client.results.length === 3);
    ac.abort();
    await done;
    const notices = client.logs.filter((l) => l.stream === 'system' && l.message.startsWith('the local executor runs transform.cmd'));
    assert.deepEqual(notices.map((n) => n.job), ['j1', 'j2']);
    assert.equal(notices[0]?.message, 'the local executor runs transform.cmd ["make-output"] on the host, in a private mount namespace (fake); transform.image "python:3.11" is recorded but not used; transform.user "nobody" is not applied (user code runs as the worker\'s user)');
  });

  it('retries claims and reports while the daemon is unreachable', async () => {
    const client = new ScriptedClient();
    const down = (): SluiceError => new SluiceError('CLIENT_CONNECTION_FAILED', 'connection refused');
    client.claims = [down(), down(), down(), datumTask('j1', 'd1')];
    client.reportFailures = [down(), down()];
    const warnings: string[] = [];
    const ac = new AbortController();
    const done = runTransformWorker({ pipeline: 'p', workerId: 'w0', client, driver: new FakeDriver(), signal: ac.signal, retry: FAST, scratchRoot: scratch, onWarning: (m) => warnings.push(m) });
    await until('the result', () => client.results.length === 1);
    ac.abort();
    await done;
    assert.equal(client.results[0]?.datum, 'd1');
    assert.match(warnings[0] ?? '', /^cannot reach the daemon \(connection refused\); retrying/);
    assert.ok(warnings.includes('the daemon is reachable again'));
  });

  it('backs off instead of spinning when empty claims come back at once', async () => {
    const client = new ScriptedClient();
    client.claims = Array.from({ length: 50 }, () => null);
    const ac = new AbortController();
    const slow: RetryPolicy = { ...FAST, initialDelayMs: 40, maxDelayMs: 40 };
    const done = runTransformWorker({ pipeline: 'p', workerId: 'w0', client, driver: new FakeDriver(), signal: ac.signal, retry: slow, scratchRoot: scratch });
    await until('a few claims', () => client.claimCalls >= 3);
    const started = Date.now();
    await until('two more claims', () => client.claimCalls >= 5);
    assert.ok(Date.now() - started >= 60, 'consecutive early empty claims are spaced out');
    ac.abort();
    await done;
  });

  it('kills running user code when stopped and reports nothing for it', async () => {
    const client = new ScriptedClient();
    client.claims = [datumTask('j1', 'd1', { cmd: ['hang'] })];
    const driver = new FakeDriver();
    const ac = new AbortController();
    const states: TransformWorkerState[] = [];
    const done = runTransformWorker({ pipeline: 'p', workerId: 'w0', client, driver, signal: ac.signal, retry: FAST, scratchRoot: scratch, onStateChange: (s) => states.push(s) });
    await until('user code to start', () => driver.runs.length === 1);
    assert.deepEqual(states.at(-1), { kind: 'running', job: 'j1', datum: 'd1', attempt: 1 });
    ac.abort();
    await done;
    assert.deepEqual(client.results, []);
    assert.equal(states.at(-1)?.kind, 'stopping');
  });

  it('stops when the pipeline no longer exists, and throws on a refused token', async () => {
    const gone = new ScriptedClient();
    gone.claims = [new SluiceError('PPS_PIPELINE_NOT_FOUND', 'pipeline p not found')];
    await runTransformWorker({ pipeline: 'p', workerId: 'w0', client: gone, driver: new FakeDriver(), signal: new AbortController().signal, retry: FAST, scratchRoot: scratch });
    const refused = new ScriptedClient();
    refused.claims = [new SluiceError('AUTH_TOKEN_INVALID', 'token revoked')];
    await assert.rejects(
      runTransformWorker({ pipeline: 'p', workerId: 'w0', client: refused, driver: new FakeDriver(), signal: new AbortController().signal, retry: FAST, scratchRoot: scratch }),
      /token revoked/,
    );
  });

  it('reports a datum as failed when the worker itself breaks', async () => {
    const client = new ScriptedClient();
    client.claims = [datumTask('j1', 'd1')];
    const broken: UserCodeDriver = { name: 'broken', run: async () => { throw new SluiceError('PPS_EXECUTOR_UNAVAILABLE', 'cannot isolate user code: bwrap is not installed'); } };
    const ac = new AbortController();
    const done = runTransformWorker({ pipeline: 'p', workerId: 'w0', client, driver: broken, signal: ac.signal, retry: FAST, scratchRoot: scratch });
    await until('the result', () => client.results.length === 1);
    ac.abort();
    await done;
    assert.equal(client.results[0]?.success, false);
    assert.equal(client.results[0]?.reason, 'datum d1 failed: worker error: cannot isolate user code: bwrap is not installed');
  });
});

describe('transform worker (real daemon)', () => {
  let daemon: Daemon;
  let client: Client;
  let dataDir: string;
  let skip: string | null = null;

  before(async () => {
    const probe = await probeDriver(new BwrapDriver());
    if (!probe.ok) {
      if (process.env.REQUIRE_SERVICES === '1') throw new Error(`bubblewrap cannot run here: ${probe.detail}`);
      skip = probe.detail;
    }
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-tw-daemon-'));
    // No executor: this test's in-process loop is the pipeline's only worker.
    daemon = await startDaemon({ dataDir, host: '127.0.0.1', port: 0, executor: 'none' });
    client = new Client({ address: daemon.address });
  });
  after(async () => {
    await client.close();
    await daemon.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('hands a datum back when its worker claims again without knowing it holds it, and claims the next with a report', async () => {
    await client.createRepo('lost');
    const files = await client.createUpload();
    for (const f of ['/a', '/b', '/c']) await files.putFile(f, Buffer.from(f));
    await files.commit('lost', 'master');
    await client.createPipeline(JSON.stringify({ pipeline: { name: 'lost-claims' }, input: { pfs: { repo: 'lost', glob: '/*' } }, transform: { cmd: ['true'] } }));
    let first: DatumTask | null = null;
    await until('the job to start', async () => (first = await client.claimDatum('lost-claims', { worker: 'w', waitMs: 1_000 })) !== null);
    // The answer "never arrived": the same worker claims again and gets the same datum, its
    // first attempt not counted.
    const again = await client.claimDatum('lost-claims', { worker: 'w', waitMs: 1_000 });
    assert.equal(again?.datum, first!.datum);
    assert.equal(again?.attempt, 1);
    const upload = await client.createUpload();
    const next = await client.reportDatumAndClaim('lost-claims', { worker: 'w', job: again!.job, datum: again!.datum, success: true, uploadId: upload.id });
    assert.ok(next !== null && next.datum !== again!.datum, 'the report answered with the next datum');
    assert.equal(next.attempt, 1);
    const datums = await client.listDatums('lost-claims', next.job);
    assert.deepEqual(datums.map((d) => d.state).sort(), ['pending', 'running', 'success']);
  });

  it('processes each commit of the input through the spout101 processor', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    // Compile-time check: the SDK client is a WorkerClient as it is.
    const wc: WorkerClient = client;
    await client.createRepo('spout');
    const processor = join(packageRoot(), 'test', 'fixtures', 'worker', 'processor.py');
    await client.createPipeline(JSON.stringify({
      pipeline: { name: 'processor' },
      input: { pfs: { repo: 'spout', glob: '/*' } },
      transform: { image: 'python:3.11-slim', cmd: ['python3', processor] },
    }));
    const ac = new AbortController();
    const warnings: string[] = [];
    const worker = runTransformWorker({ pipeline: 'processor', workerId: 'processor-v1-0', client: wc, driver: new BwrapDriver(), signal: ac.signal, onWarning: (m) => warnings.push(m) });
    try {
      await client.putFile('spout', 'master', '/a.txt', Buffer.alloc(1024, 'a'));
      await client.putFile('spout', 'master', '/b.txt', Buffer.alloc(2048, 'b'));
      await until('the output of the second commit', async () => {
        try {
          const two = (await client.getFileBuffer('processor', 'master', '/2K.txt')).toString();
          return two.includes('/pfs/spout/b.txt');
        } catch {
          return false;
        }
      }, 30_000);
      const one = (await client.getFileBuffer('processor', 'master', '/1K.txt')).toString();
      assert.match(one, /\/pfs\/spout\/a\.txt\n$/);
      const jobs = await client.listJobs({ pipeline: 'processor' });
      assert.ok(jobs.length >= 2);
      await until('every job to succeed', async () => (await client.listJobs({ pipeline: 'processor' })).every((j) => j.state === 'success'), 30_000);
    } finally {
      ac.abort();
      await worker;
    }
    assert.deepEqual(warnings, []);
  });
});
