/**
 * The log shipper against scripted sinks: batching by time and size, order kept through
 * retries, bounded memory when the daemon is gone, and a counted warning for what was dropped.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkerLogBatch } from '../api/pps-types.js';
import { SluiceError } from '../errors/index.js';
import { LogShipper, type LogSink } from './log-shipper.js';
import type { RetryPolicy } from './retry-policy.js';

const FAST: RetryPolicy = { maxAttempts: null, initialDelayMs: 1, factor: 2, maxDelayMs: 5, jitter: 0, retryable: () => true };

class ScriptedSink implements LogSink {
  batches: WorkerLogBatch[] = [];
  /** Calls to fail before succeeding, with what to throw. */
  failures: unknown[] = [];
  hang = false;
  async sendLogs(_pipeline: string, batch: WorkerLogBatch): Promise<void> {
    if (this.hang) return new Promise(() => undefined);
    const f = this.failures.shift();
    if (f !== undefined) throw f;
    this.batches.push(batch);
  }
  messages(): string[] {
    return this.batches.flatMap((b) => b.lines.map((l) => l.message));
  }
}

const down = (): SluiceError => new SluiceError('CLIENT_CONNECTION_FAILED', 'cannot reach the daemon');

function line(i: number): { job: string; datum: string; stream: 'stdout'; message: string } {
  return { job: 'j', datum: 'd', stream: 'stdout', message: `line ${i}` };
}

async function until(what: string, fn: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('log shipper', () => {
  it('sends lines in one batch shortly after they are pushed', async () => {
    const sink = new ScriptedSink();
    const s = new LogShipper({ pipeline: 'p', worker: 'w', sink, flushIntervalMs: 10 });
    for (let i = 0; i < 3; i++) s.push(line(i));
    await until('a batch', () => sink.batches.length > 0);
    assert.equal(sink.batches.length, 1);
    assert.equal(sink.batches[0]?.worker, 'w');
    assert.deepEqual(sink.messages(), ['line 0', 'line 1', 'line 2']);
    assert.equal(typeof sink.batches[0]?.lines[0]?.ts, 'number');
  });

  it('sends at most maxBatchLines per batch, at once when that many wait', async () => {
    const sink = new ScriptedSink();
    const s = new LogShipper({ pipeline: 'p', worker: 'w', sink, flushIntervalMs: 60_000, maxBatchLines: 500 });
    for (let i = 0; i < 1200; i++) s.push(line(i));
    await s.flush();
    assert.deepEqual(sink.batches.map((b) => b.lines.length), [500, 500, 200]);
    assert.equal(sink.messages()[1199], 'line 1199');
  });

  it('retries transient failures and keeps the lines in order', async () => {
    const sink = new ScriptedSink();
    sink.failures = [down(), down()];
    const s = new LogShipper({ pipeline: 'p', worker: 'w', sink, flushIntervalMs: 1, retry: FAST });
    for (let i = 0; i < 5; i++) s.push(line(i));
    await s.flush();
    s.push(line(5));
    await s.flush();
    assert.deepEqual(sink.messages(), ['line 0', 'line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    assert.equal(s.dropped, 0);
  });

  it('drops waiting lines with a counted warning when the daemon stays unreachable', async () => {
    const sink = new ScriptedSink();
    sink.failures = Array.from({ length: 1_000 }, down);
    const warnings: string[] = [];
    let now = 0;
    const s = new LogShipper({ pipeline: 'p', worker: 'w', sink, flushIntervalMs: 1, retry: FAST, giveUpAfterMs: 30_000, now: () => (now += 1_000), onWarning: (m) => warnings.push(m) });
    for (let i = 0; i < 4; i++) s.push(line(i));
    await s.flush();
    assert.equal(s.dropped, 4);
    assert.match(warnings[0] ?? '', /^dropped 4 log lines: the daemon was unreachable for \d+ s$/);
    sink.failures = [];
    s.push(line(99));
    await s.flush();
    assert.deepEqual(sink.messages(), ['warning: 4 log lines were dropped (the daemon was unreachable or the worker\'s log buffer was full)', 'line 99']);
    assert.equal(sink.batches[0]?.lines[0]?.stream, 'system');
  });

  it('never blocks the pusher and bounds its memory when the daemon hangs', async () => {
    const sink = new ScriptedSink();
    sink.hang = true;
    const s = new LogShipper({ pipeline: 'p', worker: 'w', sink, flushIntervalMs: 1, maxBatchLines: 10, maxBufferedLines: 100 });
    for (let i = 0; i < 1_000; i++) s.push(line(i));
    assert.equal(s.dropped, 900);
    const started = Date.now();
    await s.flush(50);
    assert.ok(Date.now() - started < 5_000);
  });

  it('treats a send the daemon never answers as a failure and sends again', async () => {
    const sink = new ScriptedSink();
    let calls = 0;
    const flaky: LogSink = {
      sendLogs: async (p, b) => {
        if (++calls === 1) return new Promise(() => undefined);
        return sink.sendLogs(p, b);
      },
    };
    const s = new LogShipper({ pipeline: 'p', worker: 'w', sink: flaky, flushIntervalMs: 1, retry: FAST, sendTimeoutMs: 20 });
    s.push(line(1));
    await s.flush();
    assert.deepEqual(sink.messages(), ['line 1']);
    assert.equal(calls, 2);
  });

  it('drops a batch the daemon refuses and says so', async () => {
    const sink = new ScriptedSink();
    sink.failures = [new SluiceError('PPS_PIPELINE_NOT_FOUND', 'pipeline p not found')];
    const warnings: string[] = [];
    const s = new LogShipper({ pipeline: 'p', worker: 'w', sink, flushIntervalMs: 1, onWarning: (m) => warnings.push(m) });
    s.push(line(1));
    await s.flush();
    assert.equal(s.dropped, 1);
    assert.match(warnings[0] ?? '', /refused them \(pipeline p not found\)/);
    s.push(line(2));
    await s.close();
    assert.deepEqual(sink.messages(), ['line 2']);
  });
});
