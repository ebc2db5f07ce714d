/**
 * The built-in sources, each loaded only when a spout uses it (so a worker for one source
 * never loads the client libraries of the others).
 */
import { SluiceError } from '../../errors/index.js';
import type { SpoutConnector } from '../../pps/spec/index.js';
import type { ConnectorContext, ConnectorSource } from './connector-source.js';

export async function openConnectorSource(c: SpoutConnector, ctx: ConnectorContext): Promise<ConnectorSource> {
  if (c.redisStreams !== undefined) {
    const { RedisStreamsSource } = await import('./redis-streams.js');
    return new RedisStreamsSource(c.redisStreams, ctx);
  }
  if (c.natsJetstream !== undefined) {
    const { NatsJetstreamSource } = await import('./nats-jetstream.js');
    return new NatsJetstreamSource(c.natsJetstream, ctx);
  }
  if (c.amqp !== undefined) {
    const { AmqpSource } = await import('./amqp.js');
    return new AmqpSource(c.amqp, ctx);
  }
  if (c.mqtt !== undefined) {
    const { MqttSource } = await import('./mqtt.js');
    return new MqttSource(c.mqtt, ctx);
  }
  throw new SluiceError('NOT_IMPLEMENTED', 'this connector is not built in yet');
}
