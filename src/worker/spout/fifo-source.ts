/**
 * Reads a spout's named pipe (`/pfs/out`) for as long as the spout lives, as a stream of
 * `data` chunks and `writer-closed` marks.
 *
 * Promises:
 * - From `openFifoSource` until the source is closed, the FIFO always has at least one open
 *   read end. Writers never block in `open` once the source exists, never get EPIPE, and no
 *   byte a writer wrote is ever discarded by the kernel (Pachyderm #4327: a reader that closed
 *   the pipe between archives lost what sat in the pipe buffer).
 * - Bytes come out in the order they were written.
 * - `writer-closed` is emitted after the last byte of a writer when the pipe was seen with no
 *   writer at all (see "What a writer close means" below).
 * - Back-pressure: once `highWaterMark` bytes wait unread by the consumer, reading stops, and
 *   writers block in `write` until the consumer catches up.
 *
 * How the pipe is read, and why (Linux semantics, checked on kernel 6.18; see fs/pipe.c):
 * - The read end is opened `O_RDONLY | O_NONBLOCK` and handed to libuv as a pipe handle
 *   (`net.Socket({ fd })`), so waiting costs no thread: `fs.createReadStream` would park a
 *   libuv thread-pool thread in a blocking `read` (and in a blocking `open` until the first
 *   writer) for the whole life of the spout, and could not be interrupted on abort.
 * - `read` on a FIFO returns 0 (EOF) exactly when the pipe buffer is empty and no writer has it
 *   open. That is the only writer-close signal the kernel gives; it is level, not per writer.
 * - Opening `O_RDWR` (so the reader is its own writer and never sees EOF) was rejected: with no
 *   EOF there is no way to see that a writer died in the middle of an archive, and the next
 *   writer's bytes would then be read as the rest of the dead writer's entry body.
 * - After EOF the handle must be replaced (libuv ends the stream, and an EOF'd FIFO descriptor
 *   would keep polling as hung up). The new descriptor is opened BEFORE the old one is closed,
 *   so the FIFO never has zero readers: a writer that opened in between keeps its bytes in the
 *   pipe buffer (they are freed only when the last descriptor of either side closes) and never
 *   sees EPIPE.
 * - The kernel suppresses POLLHUP on a read end opened while the pipe had no writer until a
 *   writer opens after it (the FIFO's `w_counter`), so that a fresh reader does not spin. A
 *   writer whose whole life fell between the old descriptor's EOF and the new `open` therefore
 *   leaves its bytes in the buffer with no hang-up to report its close: libuv would read the
 *   bytes and then wait forever. To close that gap, each new descriptor is drained with
 *   non-blocking `readSync` before libuv gets it: data then 0 means "a writer came and went"
 *   (emit the data, then `writer-closed`); EAGAIN means a writer is open now, and its close
 *   will raise POLLHUP (a reader opened while a writer exists, or before one opens, sees it).
 *
 * What a writer close means (the one race left, inherent to FIFOs): the kernel does not mark
 * where one writer's bytes end and the next writer's begin. If writer B opens before the reader
 * has seen the pipe empty and writer-less after writer A closed, A's and B's bytes read as one
 * stream with no `writer-closed` between them (Pachyderm's single long-lived handle has the same
 * property). Archives with their end-of-archive marker are split correctly regardless; only an
 * archive without a trailer, or a writer killed mid-archive, depends on the close being seen.
 * The worker, which starts writers, should wait for the outcome of a killed writer's archive (or
 * use a fresh pipe) before starting the next one.
 *
 * Ending: when the caller knows no writer will ever open the pipe again (the user code and every
 * process it started have exited), `end()` delivers what is still in the pipe, then one
 * `writer-closed`, then finishes the iteration. A level EOF cannot say "everything" by itself (an
 * EOF may already have been reported before the last writer died, and a read end opened while
 * the pipe was writer-less is never told about a hang-up), so `end()` opens and closes a write
 * end once: that guarantees one more EOF on the current read end, and since it happens after
 * every real writer is gone, that EOF comes after the last byte.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import { SluiceError, wrapError } from '../../errors/index.js';

export type FifoEvent = { type: 'data'; chunk: Buffer } | { type: 'writer-closed' };

export interface FifoSourceOptions {
  /** Bytes read ahead of the consumer before reading pauses. Default 4 MiB. */
  highWaterMark?: number;
}

/** A FIFO being read; iterate it once. `close()` (or the abort signal) ends the iteration. */
export interface FifoSource extends AsyncIterable<FifoEvent> {
  /** Stops at once: bytes not yet delivered are dropped. */
  close(): void;
  /**
   * No writer will open the pipe again: deliver everything still in it, then `writer-closed`,
   * then end the iteration. Call it only once every writer has exited.
   */
  end(): void;
}

const DEFAULT_HIGH_WATER_MARK = 4 << 20;
/** Upper bound for the synchronous drain of a new descriptor. Bytes left by writers that have
 * all closed fit in the pipe buffer (64 KiB, at most /proc/sys/fs/pipe-max-size, 1 MiB by
 * default); more than that means a writer is live, whose close the kernel will report. */
const DRAIN_LIMIT = 4 << 20;

const execFileAsync = promisify(execFile);

/** Creates a FIFO with `mkfifo` (Node has no binding for mkfifo(3)). */
export async function makeFifo(path: string, mode = 0o666): Promise<void> {
  try {
    await execFileAsync('mkfifo', ['-m', mode.toString(8), path]);
  } catch (err) {
    throw wrapError(err, 'INTERNAL', `cannot create the named pipe ${path}`);
  }
}

/**
 * Opens `path` (which must be a FIFO) for reading now, and yields what writers send until
 * `signal` aborts or the source is closed. Throws INVALID_ARGUMENT if `path` is not a FIFO.
 *
 * @example
 * const source = openFifoSource('/pfs/out', abort.signal);
 * for await (const ev of readArchiveEvents(source)) { ... }
 */
export function openFifoSource(path: string, signal?: AbortSignal, options: FifoSourceOptions = {}): FifoSource {
  const onAbort = (): void => pump.close();
  const pump = new FifoPump(path, options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, () => signal?.removeEventListener('abort', onAbort));
  if (signal?.aborted === true) {
    pump.close();
  } else {
    pump.start();
    signal?.addEventListener('abort', onAbort, { once: true });
  }
  let iterated = false;
  return {
    close: () => pump.close(),
    end: () => pump.end(),
    [Symbol.asyncIterator](): AsyncIterator<FifoEvent> {
      if (iterated) throw new SluiceError('INVALID_ARGUMENT', `the FIFO source for ${path} can be iterated only once`);
      iterated = true;
      return {
        next: async () => {
          const ev = await pump.next();
          return ev === undefined ? { done: true, value: undefined } : { done: false, value: ev };
        },
        return: async () => {
          pump.close();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

class FifoPump {
  private readonly queue: Array<FifoEvent | undefined> = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private socket: Socket | undefined;
  private paused = false;
  /** Closed by the consumer (or the abort signal): stop at once, queued events included. */
  private closed = false;
  /** Reading failed: queued events are still delivered, then `next` rejects with this. */
  private failure: SluiceError | undefined;
  private wake: (() => void) | undefined;
  /** `end()` was called: the next EOF is the last one. */
  private ending = false;
  /** Every byte and the final `writer-closed` are queued: `next` ends once the queue is empty. */
  private finished = false;

  constructor(
    private readonly path: string,
    private readonly highWaterMark: number,
    private readonly onClosed: () => void,
  ) {}

  start(): void {
    this.attach(this.openReadEnd());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.destroy();
    this.socket = undefined;
    this.onClosed();
    this.notify();
  }

  end(): void {
    if (this.closed || this.ending || this.finished) return;
    this.ending = true;
    if (this.socket === undefined) return; // failed already: `next` reports the failure
    try {
      // A reader is open, so a non-blocking write open succeeds at once. Opened after the
      // current read end, its close raises a hang-up there even if the kernel suppressed one.
      closeSync(openSync(this.path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch (err) {
      this.fail(err, `cannot signal the end of the named pipe ${this.path}`);
    }
  }

  private fail(err: unknown, what: string): void {
    this.failure ??= err instanceof SluiceError ? err : wrapError(err, 'INTERNAL', what);
    this.socket?.destroy();
    this.socket = undefined;
    this.notify();
  }

  /** The next event, or undefined once closed. Rejects if reading the pipe failed. */
  async next(): Promise<FifoEvent | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const ev = this.queue[this.queueHead];
      if (ev !== undefined) {
        this.queue[this.queueHead] = undefined; // let the chunk be collected
        this.queueHead++;
        if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
          this.queue.splice(0, this.queueHead);
          this.queueHead = 0;
        }
        if (ev.type === 'data') {
          this.queuedBytes -= ev.chunk.length;
          if (this.paused && this.queuedBytes <= this.highWaterMark / 2) {
            this.paused = false;
            this.socket?.resume();
          }
        }
        return ev;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.finished) {
        this.close();
        return undefined;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private enqueue(ev: FifoEvent): void {
    this.queue.push(ev);
    if (ev.type === 'data') {
      this.queuedBytes += ev.chunk.length;
      if (!this.paused && this.queuedBytes >= this.highWaterMark) {
        this.paused = true;
        this.socket?.pause();
      }
    }
    this.notify();
  }

  private openReadEnd(): number {
    let fd: number;
    try {
      fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw wrapError(err, 'INTERNAL', `cannot open the named pipe ${this.path}`);
    }
    if (!fstatSync(fd).isFIFO()) {
      closeSync(fd);
      throw new SluiceError('INVALID_ARGUMENT', `${this.path} is not a named pipe`, { details: { path: this.path } });
    }
    return fd;
  }

  private attach(fd: number): void {
    const socket = new Socket({ fd, readable: true, writable: false });
    this.socket = socket;
    if (this.paused) socket.pause();
    socket.on('data', (chunk: Buffer) => this.enqueue({ type: 'data', chunk }));
    // Runs synchronously inside the stream's 'end' emit, before the stream's own clean-up
    // (a later tick) closes the old descriptor: the new one is open first.
    socket.on('end', () => this.onEof(socket));
    socket.on('error', (err) => this.fail(err, `reading the named pipe ${this.path} failed`));
  }

  /** Every writer is gone and the buffer is empty: mark it, and replace the read end. */
  private onEof(old: Socket): void {
    if (this.closed || old !== this.socket) return;
    this.enqueue({ type: 'writer-closed' });
    if (this.ending) {
      // No writer is left and none will come: this EOF follows the last byte.
      this.finished = true;
      this.socket = undefined;
      old.destroy();
      this.notify();
      return;
    }
    let fd: number;
    try {
      fd = this.openReadEnd();
    } catch (err) {
      this.fail(err, `cannot reopen the named pipe ${this.path}`);
      return;
    }
    old.destroy();
    try {
      this.drain(fd);
    } catch (err) {
      closeSync(fd);
      this.fail(err, `reading the named pipe ${this.path} failed`);
      return;
    }
    this.attach(fd);
  }

  /** Reads what a writer left between the old descriptor's EOF and this one's open. */
  private drain(fd: number): void {
    let total = 0;
    while (total < DRAIN_LIMIT) {
      const buf = Buffer.allocUnsafe(64 * 1024);
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return; // a writer is open now
        throw err;
      }
      if (n === 0) {
        if (total > 0) this.enqueue({ type: 'writer-closed' });
        return;
      }
      this.enqueue({ type: 'data', chunk: buf.subarray(0, n) });
      total += n;
    }
  }
}
