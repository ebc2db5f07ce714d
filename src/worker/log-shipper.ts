/**
 * Ships a worker's log lines (user code's stdout/stderr and the worker's own `system` lines) to
 * the daemon in batches: every `flushIntervalMs` (100 ms) or as soon as `maxBatchLines` (500)
 * are waiting, whichever comes first.
 *
 * Promises:
 * - `push` never blocks and never throws: user code's output is read at full speed whatever the
 *   daemon is doing. Lines wait in memory, at most `maxBufferedLines`; beyond that the oldest
 *   are dropped and counted.
 * - Transient failures (daemon restarting, a send unanswered for `sendTimeoutMs`) are retried
 *   with backoff, in order. If the daemon
 *   stays unreachable for `giveUpAfterMs`, everything waiting is dropped and counted, so a
 *   long outage costs bounded memory; the count is reported as one `system` line once sending
 *   works again (and through `onWarning`). A batch the daemon refuses outright (4xx) is dropped.
 * - `flush` resolves once everything pushed before it was sent or dropped (or its timeout
 *   passed), so a datum's lines can land before its result is reported.
 */
import type { WorkerLogBatch } from '../api/pps-types.js';
import { SluiceError } from '../errors/index.js';
import { backoffDelay, DAEMON_RETRY, isTransient, type RetryPolicy } from './retry-policy.js';

export type ShippedLine = WorkerLogBatch['lines'][number];

/** The one SDK method the shipper needs (a `Client` is one). */
export interface LogSink {
  sendLogs(pipeline: string, batch: WorkerLogBatch): Promise<void>;
}

export interface LogShipperOptions {
  pipeline: string;
  worker: string;
  sink: LogSink;
  flushIntervalMs?: number;
  maxBatchLines?: number;
  maxBufferedLines?: number;
  /** How long the daemon may stay unreachable before waiting lines are dropped. */
  giveUpAfterMs?: number;
  /** Backoff between failed sends (only its delays are used; sending is retried until `giveUpAfterMs`). */
  retry?: RetryPolicy;
  /** A send that has not answered by then counts as a transient failure (default 30 s). */
  sendTimeoutMs?: number;
  /** Told about dropped lines (the worker writes it to its own stderr). */
  onWarning?: (message: string) => void;
  now?: () => number;
}

interface Waiter {
  target: number;
  resolve: () => void;
}

export class LogShipper {
  private readonly opts: Required<Omit<LogShipperOptions, 'onWarning'>> & Pick<LogShipperOptions, 'onWarning'>;
  private buffer: ShippedLine[] = [];
  /** Lines ever pushed, and lines sent or dropped: `flush` waits for the second to reach the first. */
  private pushed = 0;
  private settled = 0;
  private droppedTotal = 0;
  private droppedUnreported = 0;
  private failingSince: number | null = null;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private closed = false;
  private waiters: Waiter[] = [];

  constructor(opts: LogShipperOptions) {
    this.opts = {
      flushIntervalMs: 100,
      maxBatchLines: 500,
      maxBufferedLines: 20_000,
      giveUpAfterMs: 30_000,
      retry: DAEMON_RETRY,
      sendTimeoutMs: 30_000,
      now: Date.now,
      ...opts,
    };
  }

  /** Lines dropped so far (buffer overflow, daemon unreachable too long, or refused). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Queues one line. Never blocks, never throws. */
  push(line: Omit<ShippedLine, 'ts'> & { ts?: number }): void {
    if (this.closed) return;
    this.buffer.push({ ts: line.ts ?? this.opts.now(), job: line.job, datum: line.datum, stream: line.stream, message: line.message });
    this.pushed++;
    if (this.buffer.length > this.opts.maxBufferedLines) this.drop(this.buffer.length - this.opts.maxBufferedLines);
    this.schedule(this.buffer.length >= this.opts.maxBatchLines ? 0 : this.opts.flushIntervalMs);
  }

  /** Resolves when every line pushed so far has been sent or dropped, or after `timeoutMs`. */
  flush(timeoutMs = 5_000): Promise<void> {
    if (this.settled >= this.pushed) return Promise.resolve();
    this.schedule(0);
    return new Promise((resolve) => {
      const waiter: Waiter = { target: this.pushed, resolve: () => undefined };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      }, timeoutMs);
      waiter.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(waiter);
    });
  }

  /** Flushes (bounded by `timeoutMs`) and stops accepting lines. */
  async close(timeoutMs = 5_000): Promise<void> {
    await this.flush(timeoutMs);
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.sending) return; // the running send loop picks new lines up itself
    if (this.timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sendLoop();
    }, delayMs);
    // A worker that is otherwise done must not be kept alive by its log timer.
    this.timer.unref();
  }

  private drop(n: number): void {
    this.buffer.splice(0, n);
    this.droppedTotal += n;
    this.droppedUnreported += n;
    this.settle(n);
  }

  private settle(n: number): void {
    this.settled += n;
    const done = this.waiters.filter((w) => w.target <= this.settled);
    this.waiters = this.waiters.filter((w) => w.target > this.settled);
    for (const w of done) w.resolve();
  }

  private async sendLoop(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.buffer.length > 0 || this.droppedUnreported > 0) {
        const lines = this.buffer.slice(0, this.opts.maxBatchLines);
        const warning = this.droppedUnreported > 0 ? this.dropWarning() : null;
        const batch: WorkerLogBatch = { worker: this.opts.worker, lines: warning === null ? lines : [warning, ...lines] };
        try {
          await this.send(batch);
        } catch (err) {
          if (isTransient(err)) {
            if (await this.backOff()) continue;
            return; // gave up: lines dropped; the next push restarts the loop
          }
          // Refused (bad request, pipeline gone): resending the same lines cannot help, and
          // neither can reporting the loss through the sink that refused them.
          this.droppedTotal += lines.length;
          this.droppedUnreported = 0;
          this.opts.onWarning?.(`dropped ${lines.length} log lines: the daemon refused them (${err instanceof Error ? err.message : String(err)})`);
          this.buffer.splice(0, lines.length);
          this.settle(lines.length);
          continue;
        }
        this.failingSince = null;
        this.failures = 0;
        if (warning !== null) this.droppedUnreported = 0;
        this.buffer.splice(0, lines.length);
        this.settle(lines.length);
      }
    } finally {
      this.sending = false;
      if (this.buffer.length > 0 && !this.closed) this.schedule(this.opts.flushIntervalMs);
    }
  }

  /**
   * One send, bounded: the SDK's requests have no deadline of their own, and a daemon that
   * accepted the connection but never answers must not stall shipping for ever. (A batch that
   * lands after its timeout is sent again: a duplicate is better than a loss.)
   */
  private async send(batch: WorkerLogBatch): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new SluiceError('UNAVAILABLE', `the daemon did not accept logs within ${this.opts.sendTimeoutMs} ms`)), this.opts.sendTimeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([this.opts.sink.sendLogs(this.opts.pipeline, batch), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits out one backoff step; false (after dropping what waits) once the outage is too long. */
  private async backOff(): Promise<boolean> {
    const now = this.opts.now();
    this.failingSince ??= now;
    this.failures++;
    if (now - this.failingSince >= this.opts.giveUpAfterMs) {
      const n = this.buffer.length;
      this.drop(n);
      const message = `dropped ${n} log lines: the daemon was unreachable for ${Math.round((now - this.failingSince) / 1000)} s`;
      this.opts.onWarning?.(message);
      this.failingSince = null;
      this.failures = 0;
      return false;
    }
    const delay = backoffDelay(this.opts.retry, this.failures);
    await new Promise<void>((resolve) => setTimeout(resolve, delay).unref());
    return true;
  }

  private dropWarning(): ShippedLine {
    return {
      ts: this.opts.now(),
      job: null,
      datum: null,
      stream: 'system',
      message: `warning: ${this.droppedUnreported} log lines were dropped (the daemon was unreachable or the worker's log buffer was full)`,
    };
  }
}
