/**
 * The MQTT connector against the real Mosquitto of this machine (127.0.0.1:1883, or
 * SLUICE_TEST_MQTT): at-least-once across kills of the worker and the daemon (no message lost;
 * duplicates counted and reported), and an unreachable broker shows as `crashing`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync, type MqttClient } from 'mqtt';
import { eventually, startTestDaemon, type TestDaemon } from './harness.js';
import { assertAtLeastOnce, crashRounds, serviceUp, uniqueName } from './connector-crash.js';

const URL = process.env.SLUICE_TEST_MQTT ?? 'mqtt://127.0.0.1:1883';

const up = await serviceUp(`Mosquitto at ${URL}`, async () => {
  const c = await connectAsync(URL, { reconnectPeriod: 0, connectTimeout: 3_000 });
  await c.endAsync();
});

describe('connector: mqtt', { skip: up ? false : `Mosquitto is not reachable at ${URL} (REQUIRE_SERVICES=1 makes this a failure)`, timeout: 400_000 }, () => {
  let pub: MqttClient;
  before(async () => {
    pub = await connectAsync(URL, { reconnectPeriod: 0 });
  });
  after(async () => {
    await pub.endAsync();
  });

  it('loses no message while the worker and the daemon are killed at random (duplicates counted)', async (t) => {
    const topic = `${uniqueName('sluice-mqtt')}/events`;
    const clientId = uniqueName('sluice-mqtt-spout');
    // The persistent session exists before the first message, as it would for a running spout.
    const session = await connectAsync(URL, { clientId, clean: false, reconnectPeriod: 0 });
    await session.subscribeAsync(topic, { qos: 1 });
    await session.endAsync();
    const run = await crashRounds({
      t,
      pipeline: 'mqtt-crash',
      spout: { connector: { mqtt: { url: URL, topic, client_id: clientId } }, batch: { max_messages: 50, max_delay: '50ms' } },
      publish: async (n) => {
        await pub.publishAsync(topic, String(n), { qos: 1 });
      },
      // About 20 messages/s: a daemon restart on a loaded machine keeps the spout away for up to
      // ~15 s, and Mosquitto keeps at most 1,000 queued messages per session by default (beyond
      // that it drops them: docs/connectors.md).
      perTick: 1,
      tickMs: 50,
    });
    const duplicates = assertAtLeastOnce(run);
    t.diagnostic(`${run.published} messages, ${run.dataCommits} commits, ${duplicates} duplicates (redelivered after a kill between a commit and its acknowledgements)`);
    // Clean the session away.
    const end = await connectAsync(URL, { clientId, clean: true, reconnectPeriod: 0 });
    await end.endAsync();
  });

  describe('failures', () => {
    let d: TestDaemon;
    before(async () => {
      d = await startTestDaemon();
    });
    after(async () => d.stop());

    it('shows an unreachable broker as crashing with the reason', async () => {
      await d.client.createPipeline(JSON.stringify({ pipeline: { name: 'mqtt-down' }, spout: { connector: { mqtt: { url: 'mqtt://127.0.0.1:1', topic: 'x' } } } }));
      const crashing = await eventually(async () => {
        const p = await d.client.inspectPipeline('mqtt-down');
        return p.state === 'crashing' ? p : undefined;
      }, 20_000, 'crashing');
      assert.match(crashing.reason, /mqtt: cannot connect to mqtt:\/\/127\.0\.0\.1:1.*ECONNREFUSED/);
    });
  });
});
