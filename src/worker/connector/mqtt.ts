/**
 * MQTT (`mqtt`, protocol 5): a persistent session (`clean: false`, a session that never expires,
 * client id `client_id`, default `sluice-<pipeline>`) subscribed to `topic` at QoS 1. Each message is acknowledged
 * (PUBACK, in the order received, as the protocol requires) only once its batch is committed, so
 * the broker redelivers whatever was not committed: at-least-once. A crash between the commit and
 * the acknowledgements redelivers the last batch, which is then committed again (MQTT carries no
 * message id that survives a redelivery to recognise it by). File names are a sequence number of this spout,
 * kept in the marker, zero-padded to 20 digits; headers are the topic and the retain/dup flags.
 *
 * A broker sends a client only so many unacknowledged messages (its receive maximum, which this
 * source sets to twice the batch, capped by the broker's own limit), so a batch closes early once
 * that many wait (`stalled`); and a broker keeps only so many messages for a session while its client is
 * away (Mosquitto's `max_queued_messages`, 1000 by default): a spout stopped longer than that
 * loses messages unless the broker keeps more.
 *
 * mqtt.js (which honours `customHandleAcks` for protocol 5 only) sends a PUBACK as soon as that
 * callback answers, and reads no
 * further packet until then; so the callback answers at once with a marker error that tells the
 * client not to acknowledge, and the PUBACK is sent after the commit through the client's own
 * packet writer (`_sendPacket`, pinned by the mqtt version in package.json).
 */
import { connectAsync, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { SluiceError } from '../../errors/index.js';
import type { MqttConnector } from '../../pps/spec/index.js';
import {
  errorText, MessageBuffer, padNumber, redactUrl, urlWithPassword,
  type ConnectorContext, type ConnectorMessage, type ConnectorSource, type Json,
} from './connector-source.js';


/** Answered to mqtt.js for each message: "do not acknowledge now" (we do, after the commit). */
class DeferredAck extends Error {
  constructor() {
    super('acknowledged after the commit');
  }
}

interface Received {
  packet: IPublishPacket;
  time: Date;
}

export class MqttSource implements ConnectorSource {
  readonly kind = 'mqtt' as const;
  readonly delivery = 'at-least-once' as const;
  private client: MqttClient | undefined;
  private buffer: MessageBuffer<Received> | undefined;
  private seq = -1;
  /** Read since the last commit, to acknowledge once it lands. */
  private toAck: number[] = [];
  /** Received and not yet acknowledged. */
  private unacked = 0;
  private readonly clientId: string;
  /** Unacknowledged messages the broker may send: our receive maximum, or the broker's if lower. */
  private inflight: number;

  constructor(
    private readonly cfg: MqttConnector,
    private readonly ctx: ConnectorContext,
  ) {
    this.clientId = cfg.clientId === '' ? `sluice-${ctx.pipeline}` : cfg.clientId;
    this.inflight = Math.min(65_535, 2 * ctx.maxMessages);
  }

  describe(): string {
    return `MQTT topic ${this.cfg.topic} at ${redactUrl(this.cfg.url)} (QoS 1, persistent session ${this.clientId}, ack after commit)`;
  }

  async open(state: Json | null): Promise<void> {
    const url = urlWithPassword(this.cfg.url, this.cfg.passwordEnv, this.ctx.env, 'mqtt');
    const s = state !== null && typeof state === 'object' && !Array.isArray(state) && state.topic === this.cfg.topic ? state : undefined;
    if (s !== undefined && typeof s.seq === 'number') this.seq = s.seq;
    const buffer = new MessageBuffer<Received>(Number.MAX_SAFE_INTEGER); // bounded by the broker's inflight window
    this.buffer = buffer;
    const opts: IClientOptions = {
      clientId: this.clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 0xffffffff, receiveMaximum: this.inflight },
      reconnectPeriod: 0, // a lost connection fails the run, which starts again from the marker
      connectTimeout: 5_000,
      customHandleAcks: (_topic, _message, packet, answer) => {
        this.unacked++;
        buffer.push({ packet, time: new Date() });
        answer(new DeferredAck());
      },
    };
    let client: MqttClient;
    try {
      client = await connectAsync(url, opts);
    } catch (err) {
      throw new SluiceError('PPS_CONNECTOR_FAILED', `cannot connect to ${redactUrl(this.cfg.url)}: ${errorText(err)}`, { cause: err });
    }
    this.client = client;
    client.on('error', (err: Error) => {
      if (!(err instanceof DeferredAck)) buffer.fail(err);
    });
    client.on('close', () => buffer.fail(new Error(`the connection to ${redactUrl(this.cfg.url)} closed`)));
    const granted = await client.subscribeAsync(this.cfg.topic, { qos: 1 });
    const refused = granted.find((g) => g.qos === 128);
    if (refused !== undefined) throw new SluiceError('PPS_CONNECTOR_FAILED', `the broker refused the subscription to ${this.cfg.topic}`);
  }

  async read(max: number, waitMs: number, signal: AbortSignal): Promise<ConnectorMessage[]> {
    if (this.buffer === undefined) throw new SluiceError('INTERNAL', 'the MQTT source is not open');
    const out: ConnectorMessage[] = [];
    for (const r of await this.buffer.read(max, waitMs, signal)) {
      const p = r.packet;
      if (p.messageId !== undefined) this.toAck.push(p.messageId);
      this.seq++;
      const headers: Record<string, string> = { topic: p.topic };
      if (p.retain) headers.retain = 'true';
      if (p.dup) headers.dup = 'true';
      out.push({ id: padNumber(this.seq), time: r.time, headers, body: Buffer.from(p.payload) });
    }
    return out;
  }

  /** The broker sends nothing more until some messages are acknowledged. */
  stalled(): boolean {
    return this.unacked >= this.inflight;
  }

  state(): Json {
    return { topic: this.cfg.topic, seq: this.seq };
  }

  async committed(): Promise<void> {
    const client = this.client;
    const ids = this.toAck;
    this.toAck = [];
    if (client === undefined) return;
    // mqtt.js keeps `_sendPacket` private in its types; it is the writer its own PUBACKs go through.
    const send = (client as unknown as { _sendPacket(p: { cmd: 'puback'; messageId: number }, cb?: (err?: Error) => void): void })._sendPacket.bind(client);
    for (const messageId of ids) {
      send({ cmd: 'puback', messageId });
      this.unacked--;
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.endAsync(true).catch(() => undefined);
  }
}
