/**
 * GET /metrics end to end: a real daemon (local executor, real `sluice worker` processes, real
 * shell user code) does known work, and the scraped counters must have moved by exactly that
 * much: commits, files and bytes per repo, chunks stored and deduplicated, HTTP requests per
 * route pattern and status class, datums processed/skipped/failed per pipeline, jobs by state,
 * worker restarts, spout commits and messages, publish->commit latency. Also: the scrape is
 * open or needs a token, as the operator chose with `metricsAuth`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { eventually, startTestDaemon, tempDir, type TestDaemon } from './harness.js';
import { Client, type JobInfo } from '../../src/client/index.js';
import { packageRoot } from '../../src/lib/version.js';
import { startDaemon, type Daemon } from '../../src/server/daemon.js';

const PIPELINES = join(packageRoot(), 'test', 'fixtures', 'pipelines');
const SPOUTS = join(packageRoot(), 'test', 'fixtures', 'spouts');

/** One sample per `name{labels}` (labels sorted), as the text exposition gives them. */
type Samples = Map<string, number>;

function parseMetrics(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `a line of the exposition format: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}=${l[2]}`).sort();
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

function key(name: string, labels: Record<string, string> = {}): string {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort().join(',')}}`;
}

/** A sample's value; 0 when the series does not exist (a counter that never moved). */
function v(s: Samples, name: string, labels: Record<string, string> = {}): number {
  return s.get(key(name, labels)) ?? 0;
}

async function scrape(address: string, token?: string): Promise<{ status: number; contentType: string; text: string }> {
  const res = await request(`http://${address}/metrics`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, contentType: String(res.headers['content-type']), text: await res.body.text() };
}

async function samples(address: string): Promise<Samples> {
  const r = await scrape(address);
  assert.equal(r.status, 200, r.text);
  return parseMetrics(r.text);
}

async function endedJobs(c: Client, pipeline: string, n: number): Promise<JobInfo[]> {
  return eventually(async () => {
    const jobs = await c.listJobs({ pipeline });
    return jobs.length >= n && jobs.every((j) => ['success', 'failure', 'killed'].includes(j.state)) ? jobs.reverse() : undefined;
  }, 60_000, `${n} ended jobs of ${pipeline}`);
}

/** The pid of a `sluice worker --pipeline <name>` child of this process (the in-process daemon's executor). */
async function workerPid(pipeline: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const at = argv.indexOf('--pipeline');
      if (ppid === process.pid && argv.includes('worker') && at >= 0 && argv[at + 1] === pipeline) return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  return undefined;
}

describe('GET /metrics after real work', () => {
  let t: TestDaemon;
  let c: Client;
  before(async () => {
    t = await startTestDaemon();
    c = t.client;
  });
  after(async () => t.stop());

  it('serves the Prometheus text format with every documented sluice_ metric family', async () => {
    const r = await scrape(t.daemon.address);
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^text\/plain; version=0\.0\.4/);
    const doc = await readFile(join(packageRoot(), 'docs', 'metrics.md'), 'utf8');
    const families = [...r.text.matchAll(/^# TYPE (sluice_\S+) /gm)].map((m) => m[1]!);
    assert.ok(families.length >= 20, `families: ${families.join(', ')}`);
    for (const f of families) assert.ok(doc.includes(`\`${f}\``), `${f} is listed in docs/metrics.md`);
    // The sample Grafana dashboard queries only metrics that exist.
    const dashboard = await readFile(join(packageRoot(), 'docs', 'grafana-dashboard.json'), 'utf8');
    JSON.parse(dashboard);
    for (const [name] of dashboard.matchAll(/\bsluice_[a-z_]+/g)) assert.ok(families.includes(name.replace(/_bucket$/, '')), `the dashboard's ${name} is served`);
    // Process metrics come from prom-client's default collectors.
    assert.match(r.text, /^process_cpu_user_seconds_total /m);
  });

  it('counts commits, files and bytes per repo, chunks stored and deduplicated, and requests per route', async () => {
    const before = await samples(t.daemon.address);
    await c.createRepo('counted');
    const sizes = [1000, 2000, 3000, 4000, 5000];
    const bodies = sizes.map((n) => randomBytes(n));
    const upload = await c.createUpload();
    for (const [i, b] of bodies.entries()) await upload.putFile(`/f${i}`, b);
    await upload.commit('counted', 'master');
    // The same bytes again under another name: one more file written, its chunk deduplicated.
    await c.putFile('counted', 'master', '/again', bodies[0]!);
    await assert.rejects(c.inspectRepo('no-such-repo'));
    const after = await samples(t.daemon.address);
    const d = (name: string, labels: Record<string, string> = {}): number => v(after, name, labels) - v(before, name, labels);

    assert.equal(d('sluice_commits_total', { repo: 'counted' }), 2);
    assert.equal(d('sluice_files_written_total', { repo: 'counted' }), 6);
    assert.equal(d('sluice_bytes_written_total', { repo: 'counted' }), 15_000 + 1000);
    // Each body is below the chunker's minimum size: one chunk per file.
    assert.equal(d('sluice_chunks_total', { result: 'stored' }), 5);
    assert.equal(d('sluice_chunks_total', { result: 'deduplicated' }), 1);
    assert.equal(d('sluice_chunk_bytes_total', { result: 'stored' }), 15_000);
    assert.equal(d('sluice_chunk_bytes_total', { result: 'deduplicated' }), 1000);
    assert.equal(d('sluice_object_store_bytes_total', { direction: 'written' }), 15_000);

    const http = (method: string, route: string, code: string): number => d('sluice_http_requests_total', { method, route, code });
    assert.equal(http('POST', '/api/v1/repos', '2xx'), 1);
    assert.equal(http('POST', '/api/v1/uploads', '2xx'), 1);
    assert.equal(http('PUT', '/api/v1/uploads/:id/file', '2xx'), 5);
    assert.equal(http('POST', '/api/v1/uploads/:id/commit', '2xx'), 1);
    assert.equal(http('PUT', '/api/v1/repos/:repo/commits/:ref/file', '2xx'), 1);
    assert.equal(http('GET', '/api/v1/repos/:repo', '4xx'), 1, 'the missing repo, by route pattern, not by URL');
    assert.equal(d('sluice_http_request_duration_seconds_count', { method: 'PUT', route: '/api/v1/uploads/:id/file', code: '2xx' }), 5);
    assert.ok(![...after.keys()].some((k) => k.includes('no-such-repo')), 'no URL becomes a label');
    assert.ok(d('sluice_metadata_query_duration_seconds_count', { op: 'insert', result: 'ok' }) > 0);
    assert.ok(d('sluice_object_store_operation_duration_seconds_count', { op: 'seal', result: 'ok' }) >= 2);
  });

  it('counts nothing of a commit that is refused (its transaction rolls back)', async () => {
    await c.createRepo('refused');
    await c.putFile('refused', 'master', '/file', Buffer.from('a file'));
    const before = await samples(t.daemon.address);
    // /file is a file: writing beneath it is a path conflict, found inside the commit's transaction.
    await assert.rejects(c.putFile('refused', 'master', '/file/inner', randomBytes(2000)), /PFS_PATH_CONFLICT|is a file/);
    const after = await samples(t.daemon.address);
    const d = (name: string, labels: Record<string, string> = {}): number => v(after, name, labels) - v(before, name, labels);
    assert.equal(d('sluice_commits_total', { repo: 'refused' }), 0);
    assert.equal(d('sluice_files_written_total', { repo: 'refused' }), 0);
    assert.equal(d('sluice_bytes_written_total', { repo: 'refused' }), 0);
    assert.equal(d('sluice_chunks_total', { result: 'stored' }), 0);
    assert.equal(d('sluice_http_requests_total', { method: 'PUT', route: '/api/v1/repos/:repo/commits/:ref/file', code: '4xx' }), 1);
  });

  it('counts datums processed, skipped and failed, their durations, jobs by state and worker restarts per pipeline', async () => {
    await c.createRepo('in');
    const upload = await c.createUpload();
    for (const name of ['a', 'b', 'c', 'd']) await upload.putFile(`/${name}`, Buffer.from(`good ${name}`));
    await upload.putFile('/e', Buffer.from('bad'));
    await upload.commit('in', 'master');
    const spec = (name: string, cmd: string[], extra: Record<string, unknown> = {}): string =>
      JSON.stringify({ pipeline: { name }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd }, ...extra });
    await c.createPipeline(spec('copier', ['sh', join(PIPELINES, 'copy.sh')]));
    // fail-on.sh refuses the file whose content is "bad" (/e, the last datum), twice.
    await c.createPipeline(spec('picky', ['sh', join(PIPELINES, 'fail-on.sh')], { datum_tries: 2 }));
    await endedJobs(c, 'copier', 1);
    await endedJobs(c, 'picky', 1);

    // A second commit: the datums already processed are skipped.
    await c.putFile('in', 'master', '/f', Buffer.from('good f'));
    const copier = await endedJobs(c, 'copier', 2);
    const picky = await endedJobs(c, 'picky', 2);
    assert.deepEqual(copier.map((j) => j.state), ['success', 'success']);
    assert.deepEqual(picky.map((j) => j.state), ['failure', 'failure']);

    const m = await samples(t.daemon.address);
    const datums = (pipeline: string, result: string): number => v(m, 'sluice_datums_total', { pipeline, result });
    assert.equal(datums('copier', 'processed'), 5 + 1);
    assert.equal(datums('copier', 'skipped'), 5);
    assert.equal(datums('copier', 'failed'), 0);
    // picky job 1: a-d processed, e failed (2 attempts); job 2: a-d skipped, e failed again, f never run.
    assert.equal(datums('picky', 'processed'), 4);
    assert.equal(datums('picky', 'skipped'), 4);
    assert.equal(datums('picky', 'failed'), 2);
    // One duration per attempt, as the workers timed them.
    assert.equal(v(m, 'sluice_datum_duration_seconds_count', { pipeline: 'copier', result: 'success' }), 6);
    assert.equal(v(m, 'sluice_datum_duration_seconds_count', { pipeline: 'picky', result: 'success' }), 4);
    assert.equal(v(m, 'sluice_datum_duration_seconds_count', { pipeline: 'picky', result: 'failure' }), 4);
    assert.equal(v(m, 'sluice_jobs', { pipeline: 'copier', state: 'success' }), 2);
    assert.equal(v(m, 'sluice_jobs', { pipeline: 'picky', state: 'failure' }), 2);
    assert.equal(v(m, 'sluice_jobs_ended_total', { pipeline: 'copier', state: 'success' }), 2);
    assert.equal(v(m, 'sluice_jobs_ended_total', { pipeline: 'picky', state: 'failure' }), 2);
    // Output commits count as commits of the output repo; the pipeline's output bytes are known.
    assert.equal(v(m, 'sluice_commits_total', { repo: 'copier' }), 2);
    assert.equal(v(m, 'sluice_files_written_total', { repo: 'copier' }), 5 + 6);
    assert.ok(![...m.keys()].some((k) => copier.some((j) => k.includes(j.id))), 'no job id becomes a label');
    assert.equal(v(m, 'sluice_worker_restarts_total', { pipeline: 'copier' }), 0);

    // A worker killed from outside is restarted by the executor: one restart.
    const pid = await eventually(() => workerPid('copier'), 20_000, 'the copier worker process');
    process.kill(pid, 'SIGKILL');
    await eventually(async () => (v(await samples(t.daemon.address), 'sluice_worker_restarts_total', { pipeline: 'copier' }) === 1 ? true : undefined), 20_000, 'one counted restart');
  });

  it('counts spout commits and messages, and publish->commit latency from the stats a commit carries', async () => {
    await c.createPipeline(JSON.stringify({ pipeline: { name: 'ticker' }, transform: { cmd: ['sh', join(SPOUTS, 'tar-loop.sh')], env: { COUNT: '4', INTERVAL: '0.05' } }, spout: {} }));
    // Four archives: four commits on the output branch, one message each (the pipe worker's count).
    const m = await eventually(async () => {
      const s = await samples(t.daemon.address);
      return v(s, 'sluice_spout_commits_total', { pipeline: 'ticker' }) >= 4 && v(s, 'sluice_spout_messages_total', { pipeline: 'ticker' }) >= 4 ? s : undefined;
    }, 30_000, 'four spout commits');
    assert.equal(v(m, 'sluice_spout_commits_total', { pipeline: 'ticker' }), 4);
    assert.equal(v(m, 'sluice_spout_messages_total', { pipeline: 'ticker' }), 4);
    const age = m.get(key('sluice_spout_last_commit_age_seconds', { pipeline: 'ticker' }));
    assert.ok(age !== undefined && age >= 0, 'the last-commit age is published');
    const head = await c.inspectCommit('ticker', 'master');
    assert.equal(v(m, 'sluice_spout_last_commit_timestamp_seconds', { pipeline: 'ticker' }), head.finished! / 1000);
    // No connector stamps the pipe's archives: no latency observed.
    assert.equal(v(m, 'sluice_spout_publish_to_commit_seconds_count', { pipeline: 'ticker' }), 0);

    // What a connector sends: a batch of 3 messages published a minute before the commit.
    const published = Date.now() - 60_000;
    const upload = await c.createUpload();
    await upload.putFile('/batch', Buffer.from('x'));
    await upload.commit('ticker', 'master', { spoutStats: { messages: 3, publishTimesMs: [published, published, published] } });
    const after = await samples(t.daemon.address);
    assert.equal(v(after, 'sluice_spout_messages_total', { pipeline: 'ticker' }), 4 + 3);
    assert.equal(v(after, 'sluice_spout_publish_to_commit_seconds_count', { pipeline: 'ticker' }), 3);
    assert.ok(v(after, 'sluice_spout_publish_to_commit_seconds_sum', { pipeline: 'ticker' }) >= 3 * 60, 'each latency is at least the minute since publishing');
    assert.equal(v(after, 'sluice_spout_publish_to_commit_seconds_bucket', { pipeline: 'ticker', le: '30' }), 0);

    // Stats on a commit to a repo that is no spout are accepted and ignored.
    await c.createRepo('plain');
    const u2 = await c.createUpload();
    await u2.putFile('/x', Buffer.from('x'));
    await u2.commit('plain', 'master', { spoutStats: { messages: 5 } });
    assert.equal(v(await samples(t.daemon.address), 'sluice_spout_messages_total', { pipeline: 'plain' }), 0);
  });

  it('refuses malformed spout stats before committing anything', async () => {
    await c.createRepo('strict');
    const upload = await c.createUpload();
    await upload.putFile('/x', Buffer.from('x'));
    const res = await request(`http://${t.daemon.address}/api/v1/uploads/${upload.id}/commit`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo: 'strict', ref: 'master', spoutStats: { messages: -1 } }),
    });
    const body = (await res.body.json()) as { error: { code: string; message: string } };
    assert.equal(res.statusCode, 400);
    assert.equal(body.error.code, 'INVALID_REQUEST_BODY');
    assert.match(body.error.message, /spoutStats\.messages/);
    assert.deepEqual(await c.listCommits('strict'), []);
  });
});

describe('GET /metrics access', () => {
  const daemons: Daemon[] = [];
  const dirs: string[] = [];
  const start = async (metricsAuth?: 'none' | 'token'): Promise<{ daemon: Daemon; rootToken: string }> => {
    const dir = await tempDir('sluice-metrics-auth-');
    dirs.push(dir);
    const daemon = await startDaemon({ dataDir: dir, host: '127.0.0.1', port: 0, executor: 'none', ...(metricsAuth !== undefined ? { metricsAuth } : {}) });
    daemons.push(daemon);
    return { daemon, rootToken: (await daemon.auth.activate()).rootToken };
  };
  after(async () => {
    for (const d of daemons) await d.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('needs a user or robot token while auth is active, by default', async () => {
    const { daemon, rootToken } = await start();
    const none = await scrape(daemon.address);
    assert.equal(none.status, 401);
    assert.match(none.text, /AUTH_TOKEN_MISSING/);
    assert.equal((await scrape(daemon.address, 'f'.repeat(64))).status, 401);
    assert.equal((await scrape(daemon.address, rootToken)).status, 200);
    const robot = await daemon.auth.robotToken('prometheus');
    assert.equal((await scrape(daemon.address, robot.token)).status, 200);
  });

  it('is open with metricsAuth none, while the API still needs a token', async () => {
    const { daemon } = await start('none');
    const r = await scrape(daemon.address);
    assert.equal(r.status, 200);
    assert.match(r.text, /sluice_http_requests_total/);
    const api = await request(`http://${daemon.address}/api/v1/repos`);
    await api.body.dump();
    assert.equal(api.statusCode, 401);
  });

  it('keeps the counts of two daemons in one process apart', async () => {
    const a = await start('none');
    const b = await start('none');
    const ca = new Client({ address: a.daemon.address, token: a.rootToken });
    try {
      await ca.createRepo('only-in-a');
    } finally {
      await ca.close();
    }
    assert.equal(v(await samples(a.daemon.address), 'sluice_http_requests_total', { method: 'POST', route: '/api/v1/repos', code: '2xx' }), 1);
    assert.equal(v(await samples(b.daemon.address), 'sluice_http_requests_total', { method: 'POST', route: '/api/v1/repos', code: '2xx' }), 0);
  });
});
