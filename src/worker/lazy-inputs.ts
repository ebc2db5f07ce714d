/**
 * `lazy` inputs: instead of downloading a file before user code starts, the worker puts a named
 * pipe (FIFO) at its path and streams the file's bytes into it when user code opens it, as
 * Pachyderm 1.x did. Code that reads only some of its inputs downloads only those.
 *
 * Promises and limits:
 * - each lazy file can be read once, from start to end (a second open finds no writer and waits
 *   until the datum ends); code that seeks or reads a file twice should not use `lazy`;
 * - a FIFO nobody opens costs no download: `close()` (called when user code has exited) stops
 *   waiting for readers; a reader that stops early (EPIPE) ends that file's stream quietly;
 * - waiting for a reader is a non-blocking open retried with backoff (5 ms doubling to 50 ms),
 *   so no thread of the pool is held by a FIFO nobody reads;
 * - a download that fails while streaming is remembered and reported by `close()`, so the datum
 *   fails (or, for a transient daemon failure, is retried) instead of user code having silently
 *   read a truncated file;
 * - directory inputs marked `lazy` are downloaded as usual (materialize-inputs.ts).
 */
import { spawn } from 'node:child_process';
import { constants, open as openCb } from 'node:fs';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import type { DatumInput } from '../api/pps-types.js';
import { SluiceError } from '../errors/index.js';
import type { InputSource } from './materialize-inputs.js';

const openFd = promisify(openCb);
const FIRST_WAIT_MS = 5;
const MAX_WAIT_MS = 50;

export interface LazyOutcome {
  bytes: number;
  /** The first failure to stream a file user code opened. */
  error?: unknown;
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

async function mkfifo(paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  await new Promise<void>((resolve, reject) => {
    const p = spawn('mkfifo', ['-m', '0644', '--', ...paths], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', (e) => reject(new SluiceError('INTERNAL', `cannot make named pipes for lazy inputs: ${e.message}`, { cause: e })));
    p.once('close', (code) => (code === 0 ? resolve() : reject(new SluiceError('INTERNAL', `mkfifo failed for lazy inputs: ${err.trim()}`))));
  });
}

export class LazyFeeds {
  private readonly stop = new AbortController();
  private readonly pending: Array<{ dest: string; input: DatumInput }> = [];
  private readonly feeds: Array<Promise<void>> = [];
  private bytes = 0;
  private error: unknown;

  constructor(private readonly source: InputSource) {}

  /** Notes a file to serve lazily at host path `dest` (its folder must exist). */
  add(dest: string, input: DatumInput): void {
    this.pending.push({ dest, input });
  }

  /** Makes the FIFOs of every noted file and starts serving them. */
  async start(): Promise<void> {
    const batch = this.pending.splice(0);
    await mkfifo(batch.map((b) => b.dest));
    for (const b of batch) this.feeds.push(this.serve(b.dest, b.input));
  }

  /** Stops serving (user code is done) and says what was streamed and what failed. */
  async close(): Promise<LazyOutcome> {
    this.stop.abort();
    await Promise.all(this.feeds);
    return this.error === undefined ? { bytes: this.bytes } : { bytes: this.bytes, error: this.error };
  }

  private async serve(dest: string, input: DatumInput): Promise<void> {
    const signal = this.stop.signal;
    let delay = FIRST_WAIT_MS;
    let fd: number | undefined;
    while (!signal.aborted) {
      try {
        // Non-blocking: fails with ENXIO until a reader has the FIFO open.
        fd = await openFd(dest, constants.O_WRONLY | constants.O_NONBLOCK);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENXIO') {
          this.error ??= err;
          return;
        }
      }
      await wait(delay, signal);
      delay = Math.min(MAX_WAIT_MS, delay * 2);
    }
    if (fd === undefined) return;
    // libuv treats a FIFO descriptor as a pipe: writes wait for the reader without blocking a thread.
    const sink = new Socket({ fd, readable: false, writable: true });
    // EPIPE: the reader closed early, which is its own business.
    sink.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && !signal.aborted) this.error ??= err;
    });
    const onAbort = (): void => {
      sink.destroy();
    };
    signal.addEventListener('abort', onAbort);
    try {
      const src = await this.source.getFile(input.repo, input.commit, input.path);
      for await (const chunk of src as AsyncIterable<Buffer>) {
        if (sink.destroyed) break;
        this.bytes += chunk.byteLength;
        if (!sink.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              sink.off('drain', done);
              sink.off('close', done);
              resolve();
            };
            sink.once('drain', done);
            sink.once('close', done);
          });
        }
      }
      if (!sink.destroyed) await new Promise<void>((resolve) => sink.end(resolve));
    } catch (err) {
      // A reader that stopped early is its own business; anything else spoils what it read.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPIPE' && code !== 'ERR_STREAM_DESTROYED' && !signal.aborted) this.error ??= err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      sink.destroy();
    }
  }
}
