/**
 * What the pps modules share: the pfs layer, the executor that runs workers, the event bus
 * (jobs ending, log lines, pipelines changing) and a per-key mutex that serialises the
 * controller's work on one pipeline (scanning for new input commits, starting and finishing
 * jobs), so that each input commit becomes exactly one job.
 */
import { EventEmitter } from 'node:events';
import type { JobInfo, LogLine } from '../api/pps-types.js';
import type { Pfs } from '../pfs/index.js';
import type { Executor } from './executor.js';

export interface PpsEvents {
  jobEnded: [JobInfo];
  log: [LogLine];
  /** A pipeline has new pending datums: wake its workers' claims. */
  work: [string];
}

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

export class PpsContext {
  readonly events = new EventEmitter<PpsEvents>();
  readonly lock = new KeyedMutex();

  constructor(
    readonly pfs: Pfs,
    readonly executor: Executor,
    readonly now: () => number = Date.now,
  ) {
    this.events.setMaxListeners(0);
  }

  get db() {
    return this.pfs.ctx.db;
  }

  /** The daemon's meter, shared with the pfs layer. */
  get meter() {
    return this.pfs.ctx.meter;
  }
}
