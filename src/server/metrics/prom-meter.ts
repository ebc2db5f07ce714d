/**
 * The daemon's meter in Prometheus terms (`prom-client`): every metric Sluice publishes is
 * defined here, in one registry per daemon (never prom-client's global one), so several daemons
 * in one process keep separate counts. `docs/metrics.md` lists the same metrics; a unit test
 * checks that every metric registered here is documented there.
 *
 * Labels are bounded by design: repo, pipeline, route pattern, operation and outcome names.
 * Job ids, datum ids, URLs and error texts never become labels.
 *
 * Counters count from the daemon's start (Prometheus handles the reset on a restart). Gauges of
 * state kept in the metadata store (jobs by state, a spout's last commit) are read from it at
 * scrape time through a `ScrapeSource`, so they are right after a restart too.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DatumOutcome, Meter, MetadataOp, ObjectStoreOp, SpoutBatch } from '../../lib/meter.js';

/** What a scrape reads from the metadata store. */
export interface ScrapeSource {
  /** Jobs by pipeline and state. */
  jobCounts(): Promise<Array<{ pipeline: string; state: string; count: number }>>;
  /** Each spout pipeline and the finish time (ms) of the newest commit on its output branch (null: none yet). */
  spoutLastCommits(): Promise<Array<{ pipeline: string; finishedMs: number | null }>>;
}

const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
const DATUM_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600];
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Publish times per commit beyond this are ignored (the API refuses more anyway). */
export const MAX_PUBLISH_TIMES = 100_000;

/** `2xx`, `4xx`, …: the status class, so labels stay few. */
export function statusClass(code: number): string {
  return code >= 100 && code < 600 ? `${Math.floor(code / 100)}xx` : 'other';
}

export class PromMeter implements Meter {
  readonly registry = new Registry();
  private source: ScrapeSource | undefined;

  private readonly httpRequests: Counter<'method' | 'route' | 'code'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'code'>;
  private readonly objectOps: Histogram<'op' | 'result'>;
  private readonly objectBytes: Counter<'direction'>;
  private readonly metadataOps: Histogram<'op' | 'result'>;
  private readonly commits: Counter<'repo'>;
  private readonly filesWritten: Counter<'repo'>;
  private readonly bytesWritten: Counter<'repo'>;
  private readonly chunks: Counter<'result'>;
  private readonly chunkBytes: Counter<'result'>;
  private readonly datumCount: Counter<'pipeline' | 'result'>;
  private readonly datumSeconds: Histogram<'pipeline' | 'result'>;
  private readonly jobsEnded: Counter<'pipeline' | 'state'>;
  private readonly restarts: Counter<'pipeline'>;
  private readonly spoutCommits: Counter<'pipeline'>;
  private readonly spoutMessages: Counter<'pipeline'>;
  private readonly spoutLatency: Histogram<'pipeline'>;

  constructor(opts: { defaultMetrics?: boolean; now?: () => number } = {}) {
    const registers = [this.registry];
    const now = opts.now ?? Date.now;
    // Process metrics (CPU, memory, event loop lag, GC) under their standard names.
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });

    this.httpRequests = new Counter({ name: 'sluice_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status class.', labelNames: ['method', 'route', 'code'], registers });
    this.httpDuration = new Histogram({ name: 'sluice_http_request_duration_seconds', help: 'Time from request to response, by method, route pattern and status class (long polls included).', labelNames: ['method', 'route', 'code'], buckets: HTTP_BUCKETS, registers });

    this.objectOps = new Histogram({ name: 'sluice_object_store_operation_duration_seconds', help: 'Object-store calls by operation (create, append, seal, abort, read, list, delete) and result (ok, error).', labelNames: ['op', 'result'], buckets: STORE_BUCKETS, registers });
    this.objectBytes = new Counter({ name: 'sluice_object_store_bytes_total', help: 'Bytes moved by the object store, by direction (read, written).', labelNames: ['direction'], registers });
    this.metadataOps = new Histogram({ name: 'sluice_metadata_query_duration_seconds', help: 'Metadata-store queries by operation (select, insert, update, delete, other) and result (ok, error).', labelNames: ['op', 'result'], buckets: STORE_BUCKETS, registers });

    this.commits = new Counter({ name: 'sluice_commits_total', help: 'Commits finished, by repo (marker-branch commits of spouts included).', labelNames: ['repo'], registers });
    this.filesWritten = new Counter({ name: 'sluice_files_written_total', help: 'Files put or appended into finished commits, by repo.', labelNames: ['repo'], registers });
    this.bytesWritten = new Counter({ name: 'sluice_bytes_written_total', help: 'Bytes of the files put or appended into finished commits, by repo (before deduplication).', labelNames: ['repo'], registers });
    this.chunks = new Counter({ name: 'sluice_chunks_total', help: 'Content-defined chunks received, by result: stored (new) or deduplicated (already stored, or repeated).', labelNames: ['result'], registers });
    this.chunkBytes = new Counter({ name: 'sluice_chunk_bytes_total', help: 'Bytes of the chunks received, by result: stored or deduplicated.', labelNames: ['result'], registers });

    this.datumCount = new Counter({ name: 'sluice_datums_total', help: 'Datums that reached an end, by pipeline and result (processed, recovered, skipped, failed).', labelNames: ['pipeline', 'result'], registers });
    this.datumSeconds = new Histogram({ name: 'sluice_datum_duration_seconds', help: 'Time a worker spent on one datum attempt (inputs, user code, upload), by pipeline and result (success, failure).', labelNames: ['pipeline', 'result'], buckets: DATUM_BUCKETS, registers });
    this.jobsEnded = new Counter({ name: 'sluice_jobs_ended_total', help: 'Jobs that ended, by pipeline and state (success, failure, killed).', labelNames: ['pipeline', 'state'], registers });
    this.restarts = new Counter({ name: 'sluice_worker_restarts_total', help: 'Workers that exited unasked and were started again, by pipeline.', labelNames: ['pipeline'], registers });

    this.spoutCommits = new Counter({ name: 'sluice_spout_commits_total', help: 'Commits on the output branch of each spout.', labelNames: ['pipeline'], registers });
    this.spoutMessages = new Counter({ name: 'sluice_spout_messages_total', help: 'Messages committed by each spout, as its connector or pipe worker reports them.', labelNames: ['pipeline'], registers });
    this.spoutLatency = new Histogram({ name: 'sluice_spout_publish_to_commit_seconds', help: 'Time from a message being published at the source to its commit, per spout (only for sources that stamp messages).', labelNames: ['pipeline'], buckets: LATENCY_BUCKETS, registers });

    // Scrape-time gauges, read from the metadata store.
    const meter = this;
    new Gauge({
      name: 'sluice_jobs', help: 'Jobs by pipeline and state (created, running, finishing, success, failure, killed).', labelNames: ['pipeline', 'state'], registers,
      async collect() {
        this.reset();
        for (const r of (await meter.read((s) => s.jobCounts())) ?? []) this.set({ pipeline: r.pipeline, state: r.state }, r.count);
      },
    });
    const lastCommits = async (): Promise<Array<{ pipeline: string; finishedMs: number | null }>> => (await meter.read((s) => s.spoutLastCommits())) ?? [];
    new Gauge({
      name: 'sluice_spout_last_commit_age_seconds', help: 'Seconds since the newest commit on each spout\'s output branch (absent until it has one).', labelNames: ['pipeline'], registers,
      async collect() {
        this.reset();
        const t = now();
        for (const r of await lastCommits()) if (r.finishedMs !== null) this.set({ pipeline: r.pipeline }, Math.max(0, (t - r.finishedMs) / 1000));
      },
    });
    new Gauge({
      name: 'sluice_spout_last_commit_timestamp_seconds', help: 'Unix time of the newest commit on each spout\'s output branch.', labelNames: ['pipeline'], registers,
      async collect() {
        this.reset();
        for (const r of await lastCommits()) if (r.finishedMs !== null) this.set({ pipeline: r.pipeline }, r.finishedMs / 1000);
      },
    });
  }

  /** Where scrape-time gauges read from (set once the stores are open). */
  setScrapeSource(source: ScrapeSource | undefined): void {
    this.source = source;
  }

  /** The text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** A closed store answers nothing: the gauge is left empty rather than failing the scrape. */
  private async read<T>(fn: (s: ScrapeSource) => Promise<T>): Promise<T | undefined> {
    if (this.source === undefined) return undefined;
    try {
      return await fn(this.source);
    } catch {
      return undefined;
    }
  }

  httpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    const labels = { method, route, code: statusClass(statusCode) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  objectStoreOp(op: ObjectStoreOp, seconds: number, ok: boolean, bytes?: number): void {
    this.objectOps.observe({ op, result: ok ? 'ok' : 'error' }, seconds);
    if (ok && bytes !== undefined && bytes > 0) {
      if (op === 'read') this.objectBytes.inc({ direction: 'read' }, bytes);
      else if (op === 'append') this.objectBytes.inc({ direction: 'written' }, bytes);
    }
  }

  metadataQuery(op: MetadataOp, seconds: number, ok: boolean): void {
    this.metadataOps.observe({ op, result: ok ? 'ok' : 'error' }, seconds);
  }

  commitFinished(repo: string, files: number, bytes: number): void {
    this.commits.inc({ repo });
    // inc(0) still creates the series, so a repo's counters appear with its first commit.
    this.filesWritten.inc({ repo }, files);
    this.bytesWritten.inc({ repo }, bytes);
  }

  chunksRecorded(c: { stored: number; storedBytes: number; deduplicated: number; deduplicatedBytes: number }): void {
    this.chunks.inc({ result: 'stored' }, c.stored);
    this.chunks.inc({ result: 'deduplicated' }, c.deduplicated);
    this.chunkBytes.inc({ result: 'stored' }, c.storedBytes);
    this.chunkBytes.inc({ result: 'deduplicated' }, c.deduplicatedBytes);
  }

  datums(pipeline: string, outcome: DatumOutcome, count: number): void {
    this.datumCount.inc({ pipeline, result: outcome }, count);
  }

  datumDuration(pipeline: string, success: boolean, seconds: number): void {
    this.datumSeconds.observe({ pipeline, result: success ? 'success' : 'failure' }, seconds);
  }

  jobEnded(pipeline: string, state: string): void {
    this.jobsEnded.inc({ pipeline, state });
  }

  workerRestarted(pipeline: string): void {
    this.restarts.inc({ pipeline });
  }

  spoutCommitted(pipeline: string): void {
    this.spoutCommits.inc({ pipeline });
  }

  spoutBatch(pipeline: string, batch: SpoutBatch): void {
    if (Number.isFinite(batch.messages) && batch.messages > 0) this.spoutMessages.inc({ pipeline }, batch.messages);
    const times = batch.publishTimesMs ?? [];
    for (let i = 0; i < times.length && i < MAX_PUBLISH_TIMES; i++) {
      const t = times[i]!;
      // Clocks of the source and the daemon differ: a publish time "after" the commit counts as 0.
      if (Number.isFinite(t)) this.spoutLatency.observe({ pipeline }, Math.max(0, (batch.committedAtMs - t) / 1000));
    }
  }
}
