/**
 * The daemon's metrics wired to pfs and pps: the events the meter hears from the server side
 * (jobs ending, commits landing on a spout's output branch, the stats a spout's commit carries),
 * the scrape-time reads of the metadata store, the HTTP hook, and the text `/metrics` serves.
 *
 * Which repos are spouts is read from the pipelines table when a commit finishes (one lookup by
 * primary key): a pipeline created, updated or deleted is seen at its next commit.
 */
import type { FastifyInstance } from 'fastify';
import type { CommitInfo, SpoutCommitStats } from '../../api/types.js';
import type { JobInfo } from '../../api/pps-types.js';
import { SluiceError } from '../../errors/index.js';
import type { Pfs } from '../../pfs/index.js';
import type { Pps } from '../../pps/index.js';
import { MAX_PUBLISH_TIMES, PromMeter, type ScrapeSource } from './prom-meter.js';

/** How `GET /metrics` is guarded: `token` needs a user or robot token while auth is active; `none` is open. */
export type MetricsAuth = 'none' | 'token';

/** Checks the `spoutStats` field of a commit request; throws INVALID_REQUEST_BODY naming what is wrong. */
export function parseSpoutStats(raw: unknown): SpoutCommitStats | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new SluiceError('INVALID_REQUEST_BODY', 'field "spoutStats" must be an object {messages, publishTimesMs?}');
  const r = raw as Record<string, unknown>;
  const messages = r.messages;
  if (typeof messages !== 'number' || !Number.isSafeInteger(messages) || messages < 0) {
    throw new SluiceError('INVALID_REQUEST_BODY', 'field "spoutStats.messages" must be a non-negative integer', { details: { field: 'spoutStats.messages' } });
  }
  const out: SpoutCommitStats = { messages };
  if (r.publishTimesMs !== undefined && r.publishTimesMs !== null) {
    const t = r.publishTimesMs;
    if (!Array.isArray(t) || t.some((v) => typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new SluiceError('INVALID_REQUEST_BODY', 'field "spoutStats.publishTimesMs" must be an array of times in ms since the epoch', { details: { field: 'spoutStats.publishTimesMs' } });
    }
    if (t.length > MAX_PUBLISH_TIMES) {
      throw new SluiceError('INVALID_REQUEST_BODY', `field "spoutStats.publishTimesMs" holds ${t.length} times; at most ${MAX_PUBLISH_TIMES} per commit`, { details: { field: 'spoutStats.publishTimesMs' } });
    }
    out.publishTimesMs = t as number[];
  }
  return out;
}

export class DaemonMetrics {
  private readonly onCommit = (info: CommitInfo): void => {
    void this.spoutOutputBranch(info.repo).then((branch) => {
      if (branch !== undefined && branch === info.branch) this.meter.spoutCommitted(info.repo);
    }, () => undefined);
  };

  private readonly onJobEnded = (info: JobInfo): void => this.meter.jobEnded(info.pipeline, info.state);

  constructor(
    readonly meter: PromMeter,
    private readonly pfs: Pfs,
    private readonly pps: Pps | undefined,
  ) {
    pfs.ctx.events.on('commitFinished', this.onCommit);
    pps?.ctx.events.on('jobEnded', this.onJobEnded);
    meter.setScrapeSource(this.scrapeSource());
  }

  close(): void {
    this.pfs.ctx.events.off('commitFinished', this.onCommit);
    this.pps?.ctx.events.off('jobEnded', this.onJobEnded);
    this.meter.setScrapeSource(undefined);
  }

  /** Counts `HTTP requests and their latency` by route pattern; install on the root instance. */
  installHttpHook(app: FastifyInstance): void {
    app.addHook('onResponse', async (req, reply) => {
      const route = req.is404 ? 'unmatched' : (req.routeOptions.url ?? 'unmatched');
      this.meter.httpRequest(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    });
  }

  /** The stats a commit request carried: counted when the commit is on a spout's output branch. */
  async spoutBatch(commit: CommitInfo, stats: SpoutCommitStats): Promise<void> {
    if ((await this.spoutOutputBranch(commit.repo).catch(() => undefined)) !== commit.branch) return;
    const batch = { messages: stats.messages, committedAtMs: commit.finished ?? this.pfs.ctx.now() };
    this.meter.spoutBatch(commit.repo, stats.publishTimesMs === undefined ? batch : { ...batch, publishTimesMs: stats.publishTimesMs });
  }

  /** The output branch of the spout pipeline named `name`, or undefined when it is not one. */
  private async spoutOutputBranch(name: string): Promise<string | undefined> {
    const row = await this.pfs.ctx.db.selectFrom('pipelines').select('spec').where('name', '=', name).executeTakeFirst();
    if (row === undefined) return undefined;
    const spec = JSON.parse(row.spec) as { spout?: unknown; outputBranch?: string };
    return spec.spout === undefined || spec.spout === null ? undefined : (spec.outputBranch ?? 'master');
  }

  private scrapeSource(): ScrapeSource {
    const db = this.pfs.ctx.db;
    return {
      async jobCounts() {
        const rows = await db.selectFrom('jobs').select((eb) => ['pipeline', 'state', eb.fn.countAll<number>().as('n')]).groupBy(['pipeline', 'state']).execute();
        return rows.map((r) => ({ pipeline: r.pipeline, state: r.state, count: Number(r.n) }));
      },
      async spoutLastCommits() {
        const out: Array<{ pipeline: string; finishedMs: number | null }> = [];
        for (const p of await db.selectFrom('pipelines').select(['name', 'spec']).execute()) {
          const spec = JSON.parse(p.spec) as { spout?: unknown; outputBranch?: string };
          if (spec.spout === undefined || spec.spout === null) continue;
          const b = await db.selectFrom('branches').select('head').where('repo', '=', p.name).where('name', '=', spec.outputBranch ?? 'master').executeTakeFirst();
          // The head is finished (spout commits are made finished); an open one (a 2.0 spout
          // mid-`start commit`) is stepped over, a few parents at most.
          let id = b?.head ?? null;
          let finishedMs: number | null = null;
          for (let i = 0; i < 8 && id !== null && finishedMs === null; i++) {
            const c = await db.selectFrom('commits').select(['parent', 'finished_at']).where('repo', '=', p.name).where('id', '=', id).executeTakeFirst();
            if (c === undefined) break;
            finishedMs = c.finished_at;
            id = c.parent;
          }
          out.push({ pipeline: p.name, finishedMs });
        }
        return out;
      },
    };
  }
}
