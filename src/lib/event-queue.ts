/**
 * Following a stream of events without a gap: an EventQueue starts buffering matching events the
 * moment it is made, so a caller can read what is stored, then `follow()` what came since and
 * what comes next, until its signal aborts. Used by `subscribe commit` and `logs -f`.
 */
import type { EventEmitter } from 'node:events';

export class EventQueue<T> {
  private readonly queue: T[] = [];
  private wake: (() => void) | undefined;
  private readonly listener = (value: T): void => {
    if (!this.accept(value)) return;
    this.queue.push(value);
    this.wake?.();
  };

  constructor(
    private readonly emitter: EventEmitter,
    private readonly event: string,
    private readonly accept: (value: T) => boolean,
  ) {
    emitter.on(event, this.listener);
  }

  /** Yields buffered and new events, in order, until `signal` aborts. Closes the queue at the end. */
  async *follow(signal?: AbortSignal): AsyncGenerator<T> {
    const onAbort = (): void => this.wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      while (signal?.aborted !== true) {
        const next = this.queue.shift();
        if (next === undefined) {
          await new Promise<void>((r) => (this.wake = r));
          this.wake = undefined;
          continue;
        }
        yield next;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.close();
    }
  }

  /** Stops listening (safe to call twice). */
  close(): void {
    this.emitter.off(this.event, this.listener);
  }
}
