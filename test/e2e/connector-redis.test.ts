/**
 * The Redis Streams connector against the real Redis of this machine (127.0.0.1:6379, or
 * SLUICE_TEST_REDIS): exactly once across kills of the worker and the daemon; a missing stream
 * and an unreachable server show as `crashing` with the reason, and the spout recovers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Client } from '../../src/client/index.js';
import { eventually, startTestDaemon, type TestDaemon } from './harness.js';
import { assertExactlyOnce, crashRounds, serviceUp, uniqueName } from './connector-crash.js';

const URL = process.env.SLUICE_TEST_REDIS ?? 'redis://127.0.0.1:6379';

const up = await serviceUp(`Redis at ${URL}`, async () => {
  const r = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3_000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
  } finally {
    r.disconnect();
  }
});

describe('connector: redis_streams', { skip: up ? false : `Redis is not reachable at ${URL} (REQUIRE_SERVICES=1 makes this a failure)`, timeout: 400_000 }, () => {
  let redis: Redis;
  const streams: string[] = [];
  before(() => {
    redis = new Redis(URL);
  });
  after(async () => {
    for (const s of streams) await redis.del(s);
    redis.disconnect();
  });

  it('commits every entry exactly once while the worker and the daemon are killed at random', async (t) => {
    const stream = uniqueName('sluice-rs');
    streams.push(stream);
    await redis.xadd(stream, '*', 'body', 'start');
    await redis.xtrim(stream, 'MAXLEN', 0);
    const run = await crashRounds({
      t,
      pipeline: 'rs-crash',
      spout: { connector: { redis_streams: { url: URL, stream } }, batch: { max_messages: 50, max_delay: '50ms' } },
      publish: async (n) => {
        await redis.xadd(stream, '*', 'body', String(n), 'n', String(n));
      },
    });
    t.diagnostic(`${run.published} messages, ${run.dataCommits} commits; marker ${run.marker.trim()}`);
    assertExactlyOnce(run);
  });

  describe('failures', () => {
    let d: TestDaemon;
    before(async () => {
      d = await startTestDaemon();
    });
    after(async () => d.stop());

    const state = async (c: Client, name: string): Promise<{ state: string; reason: string }> => {
      const p = await c.inspectPipeline(name);
      return { state: p.state, reason: p.reason };
    };

    it('shows a missing stream as crashing with the reason, and recovers once it exists', async () => {
      const stream = uniqueName('sluice-rs-missing');
      streams.push(stream);
      await d.client.createPipeline(JSON.stringify({ pipeline: { name: 'rs-missing' }, spout: { connector: { redis_streams: { url: URL, stream } } } }));
      const crashing = await eventually(async () => {
        const s = await state(d.client, 'rs-missing');
        return s.state === 'crashing' ? s : undefined;
      }, 20_000, 'crashing');
      assert.match(crashing.reason, new RegExp(`redis_streams: stream ${stream} does not exist`));
      await redis.xadd(stream, '*', 'body', 'late');
      await eventually(async () => ((await d.client.listFile('rs-missing', 'master', '/')).length === 1 ? true : undefined), 30_000, 'the entry committed');
      assert.equal((await state(d.client, 'rs-missing')).state, 'running');
    });

    it('gives a downstream pipeline one job per batch commit, each with provenance on the spec commit', async () => {
      const stream = uniqueName('sluice-rs-down');
      streams.push(stream);
      await redis.xadd(stream, '*', 'body', 'seed');
      await redis.xtrim(stream, 'MAXLEN', 0);
      const c = d.client;
      await c.createPipeline(JSON.stringify({ pipeline: { name: 'rs-up' }, spout: { connector: { redis_streams: { url: URL, stream } }, batch: { max_delay: '20ms' } } }));
      await c.createPipeline(JSON.stringify({
        pipeline: { name: 'rs-count' }, input: { pfs: { repo: 'rs-up', glob: '/' } },
        transform: { cmd: ['sh', '-c', 'ls /pfs/rs-up | wc -l > /pfs/out/count'] },
      }));
      for (let i = 1; i <= 3; i++) {
        await redis.xadd(stream, '*', 'body', `m${i}`);
        await eventually(async () => ((await c.listCommits('rs-up', { branch: 'master' })).length === i ? true : undefined), 30_000, `batch ${i} committed`);
      }
      const commits = await c.listCommits('rs-up', { branch: 'master' });
      const spec = (await c.inspectPipeline('rs-up')).specCommit;
      for (const commit of commits) assert.ok(commit.provenance.some((p) => p.repo === spec.repo && p.id === spec.id), `commit ${commit.id} has provenance on ${spec.repo}@${spec.id}`);
      const jobs = await eventually(async () => {
        const js = await c.listJobs({ pipeline: 'rs-count' });
        return js.length === 3 && js.every((j) => j.state === 'success') ? js : undefined;
      }, 60_000, 'three successful downstream jobs');
      assert.equal(jobs.length, 3);
      assert.equal((await c.getFileBuffer('rs-count', 'master', '/count')).toString().trim(), '3');
    });

    it('shows an unreachable server as crashing with the broker error', async () => {
      await d.client.createPipeline(JSON.stringify({ pipeline: { name: 'rs-down' }, spout: { connector: { redis_streams: { url: 'redis://127.0.0.1:1', stream: 'x' } } } }));
      const crashing = await eventually(async () => {
        const s = await state(d.client, 'rs-down');
        return s.state === 'crashing' ? s : undefined;
      }, 20_000, 'crashing');
      assert.match(crashing.reason, /redis_streams: cannot connect to redis:\/\/127\.0\.0\.1:1.*ECONNREFUSED/);
    });
  });
});
