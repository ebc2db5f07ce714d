/**
 * The AMQP connector against the real RabbitMQ of this machine (127.0.0.1:5672 guest/guest, or
 * SLUICE_TEST_AMQP): a stream queue exactly once; a classic queue whose publisher sets message
 * ids with no message lost and no duplicate left (redeliveries dropped through the marker's
 * window), both across kills of the worker and the daemon; a missing queue shows as `crashing`
 * with the broker's reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import { eventually, startTestDaemon, type TestDaemon } from './harness.js';
import { assertAtLeastOnce, assertExactlyOnce, crashRounds, serviceUp, uniqueName } from './connector-crash.js';

const URL = process.env.SLUICE_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';

const up = await serviceUp(`RabbitMQ at ${URL}`, async () => {
  const c = await amqp.connect(URL, { timeout: 3_000 });
  await c.close();
});

describe('connector: amqp', { skip: up ? false : `RabbitMQ is not reachable at ${URL} (REQUIRE_SERVICES=1 makes this a failure)`, timeout: 600_000 }, () => {
  let conn: amqp.ChannelModel;
  let ch: amqp.ConfirmChannel;
  const queues: string[] = [];
  before(async () => {
    conn = await amqp.connect(URL);
    ch = await conn.createConfirmChannel();
  });
  after(async () => {
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    await conn.close();
  });

  const send = (queue: string, n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      ch.sendToQueue(queue, Buffer.from(String(n)), { messageId: `m${n}`, persistent: true }, (err) => (err ? reject(err as Error) : resolve()));
    });

  it('commits every message of a stream queue exactly once while the worker and the daemon are killed at random', async (t) => {
    const queue = uniqueName('sluice-amqp-stream');
    queues.push(queue);
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    const run = await crashRounds({
      t,
      pipeline: 'amqp-stream',
      spout: { connector: { amqp: { url: URL, queue, queue_type: 'stream' } }, batch: { max_messages: 50, max_delay: '50ms' } },
      publish: (n) => send(queue, n),
    });
    t.diagnostic(`${run.published} messages, ${run.dataCommits} commits; marker ${run.marker.trim()}`);
    assertExactlyOnce(run);
  });

  it('commits every message of a classic queue, dropping redeliveries by message id, while the worker and the daemon are killed at random', async (t) => {
    const queue = uniqueName('sluice-amqp-classic');
    queues.push(queue);
    await ch.assertQueue(queue, { durable: true });
    const run = await crashRounds({
      t,
      pipeline: 'amqp-classic',
      spout: { connector: { amqp: { url: URL, queue } }, batch: { max_messages: 50, max_delay: '50ms' } },
      publish: (n) => send(queue, n),
    });
    const duplicates = assertAtLeastOnce(run);
    t.diagnostic(`${run.published} messages, ${run.dataCommits} commits, ${duplicates} duplicates`);
    assert.equal(duplicates, 0, 'redeliveries of committed messages are dropped');
  });

  describe('failures', () => {
    let d: TestDaemon;
    before(async () => {
      d = await startTestDaemon();
    });
    after(async () => d.stop());

    it('shows a missing queue as crashing with the broker reason, and recovers once it exists', async () => {
      const queue = uniqueName('sluice-amqp-missing');
      queues.push(queue);
      await d.client.createPipeline(JSON.stringify({ pipeline: { name: 'amqp-missing' }, spout: { connector: { amqp: { url: URL, queue } } } }));
      const crashing = await eventually(async () => {
        const p = await d.client.inspectPipeline('amqp-missing');
        return p.state === 'crashing' ? p : undefined;
      }, 20_000, 'crashing');
      assert.match(crashing.reason, new RegExp(`amqp: queue ${queue} at .*404 \\(NOT-FOUND\\)`));
      assert.doesNotMatch(crashing.reason, /guest:guest/, 'the password is not shown');
      await ch.assertQueue(queue, { durable: true });
      await send(queue, 7);
      await eventually(async () => ((await d.client.listFile('amqp-missing', 'master', '/')).length === 1 ? true : undefined), 30_000, 'the message committed');
      assert.equal((await d.client.inspectPipeline('amqp-missing')).state, 'running');
    });
  });
});
