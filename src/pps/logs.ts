/**
 * Logs of user code and of the system, one line each, with the job and datum they came from.
 * Stored in the metadata store (queried by pipeline, job, datum) and fanned out to followers.
 */
import type { LogLine, WorkerLogBatch } from '../api/pps-types.js';
import { SluiceError } from '../errors/index.js';
import { EventQueue } from '../lib/event-queue.js';
import type { PpsContext } from './pps-context.js';

const MAX_LINE = 16 * 1024;

export class LogService {
  constructor(private readonly ctx: PpsContext) {}

  async append(pipeline: string, batch: WorkerLogBatch): Promise<void> {
    if (!Array.isArray(batch.lines)) throw new SluiceError('INVALID_REQUEST_BODY', 'lines must be an array');
    const rows: LogLine[] = batch.lines.map((l) => ({
      ts: typeof l.ts === 'number' ? l.ts : this.ctx.now(),
      pipeline,
      job: l.job ?? null,
      datum: l.datum ?? null,
      worker: batch.worker ?? null,
      stream: l.stream === 'stderr' || l.stream === 'system' ? l.stream : 'stdout',
      message: String(l.message).slice(0, MAX_LINE),
    }));
    for (let i = 0; i < rows.length; i += 200) await this.ctx.db.insertInto('logs').values(rows.slice(i, i + 200)).execute();
    for (const r of rows) this.ctx.events.emit('log', r);
  }

  /** Matching lines oldest first; with `follow`, then every new matching line until aborted. */
  async *read(opts: { pipeline?: string; job?: string; datum?: string; follow?: boolean; signal?: AbortSignal }): AsyncGenerator<LogLine> {
    const matches = (l: LogLine): boolean =>
      (opts.pipeline === undefined || l.pipeline === opts.pipeline) &&
      (opts.job === undefined || l.job === opts.job) &&
      (opts.datum === undefined || l.datum === opts.datum);
    // With follow, listen before reading what is stored, so no line falls in between.
    const live = opts.follow === true ? new EventQueue<LogLine>(this.ctx.events, 'log', matches) : undefined;
    try {
      let q = this.ctx.db.selectFrom('logs').selectAll().orderBy('seq');
      if (opts.pipeline !== undefined) q = q.where('pipeline', '=', opts.pipeline);
      if (opts.job !== undefined) q = q.where('job', '=', opts.job);
      if (opts.datum !== undefined) q = q.where('datum', '=', opts.datum);
      const stored = await q.execute();
      const seen = new Set<string>();
      for (const r of stored) {
        const line: LogLine = { ts: r.ts, pipeline: r.pipeline, job: r.job, datum: r.datum, worker: r.worker, stream: r.stream as LogLine['stream'], message: r.message };
        seen.add(`${r.ts}|${r.worker ?? ''}|${r.message}`);
        yield line;
      }
      if (live === undefined) return;
      for await (const next of live.follow(opts.signal)) {
        // Lines that arrived while the stored ones were read are in both; print them once.
        const key = `${next.ts}|${next.worker ?? ''}|${next.message}`;
        if (seen.has(key)) {
          seen.delete(key);
          continue;
        }
        yield next;
      }
    } finally {
      live?.close();
    }
  }
}
