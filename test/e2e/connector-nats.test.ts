/**
 * The NATS JetStream connector against the real nats-server of this machine (127.0.0.1:4222, or
 * SLUICE_TEST_NATS): exactly once across kills of the worker and the daemon, in the jsonl
 * layout; a missing stream shows as `crashing` with the server's reason, and the spout recovers
 * once the stream exists.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { eventually, startTestDaemon, type TestDaemon } from './harness.js';
import { assertExactlyOnce, crashRounds, serviceUp, uniqueName } from './connector-crash.js';

const SERVER = process.env.SLUICE_TEST_NATS ?? '127.0.0.1:4222';
const URL = `nats://${SERVER}`;

const up = await serviceUp(`NATS JetStream at ${SERVER}`, async () => {
  const nc = await connect({ servers: SERVER, reconnect: false, timeout: 3_000 });
  try {
    await (await jetstreamManager(nc)).getAccountInfo();
  } finally {
    await nc.close();
  }
});

/** A stream name NATS accepts (no dots or dashes). */
function streamName(prefix: string): string {
  return uniqueName(prefix).replace(/[^A-Za-z0-9]/g, '_');
}

describe('connector: nats_jetstream', { skip: up ? false : `NATS is not reachable at ${SERVER} (REQUIRE_SERVICES=1 makes this a failure)`, timeout: 400_000 }, () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  const streams: string[] = [];
  before(async () => {
    nc = await connect({ servers: SERVER });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
  });
  after(async () => {
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await nc.close();
  });

  it('commits every message exactly once while the worker and the daemon are killed at random', async (t) => {
    const stream = streamName('sluice_js');
    streams.push(stream);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const run = await crashRounds({
      t,
      pipeline: 'js-crash',
      spout: { connector: { nats_jetstream: { url: URL, stream, subject: `${stream}.events` }, format: 'jsonl' }, batch: { max_messages: 50, max_delay: '50ms' } },
      publish: async (n) => {
        await js.publish(`${stream}.events`, String(n));
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

    it('shows a missing stream as crashing with the server reason, and recovers once it exists', async () => {
      const stream = streamName('sluice_js_missing');
      streams.push(stream);
      await d.client.createPipeline(JSON.stringify({ pipeline: { name: 'js-missing' }, spout: { connector: { nats_jetstream: { url: URL, stream } } } }));
      const crashing = await eventually(async () => {
        const p = await d.client.inspectPipeline('js-missing');
        return p.state === 'crashing' ? p : undefined;
      }, 20_000, 'crashing');
      assert.match(crashing.reason, new RegExp(`nats_jetstream: stream ${stream} at nats://${SERVER.replace(/\./g, '\\.')}/?: stream not found`));
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
      await js.publish(`${stream}.x`, 'late');
      await eventually(async () => ((await d.client.listFile('js-missing', 'master', '/')).length === 1 ? true : undefined), 30_000, 'the message committed');
      const files = await d.client.listFile('js-missing', 'master', '/');
      assert.equal(files[0]!.path, `/${'1'.padStart(20, '0')}`);
      assert.equal((await d.client.getFileBuffer('js-missing', 'master', files[0]!.path)).toString(), 'late');
      assert.equal((await d.client.inspectPipeline('js-missing')).state, 'running');
    });
  });
});
