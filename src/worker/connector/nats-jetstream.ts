/**
 * NATS JetStream (`@nats-io/transport-node` + `@nats-io/jetstream`): an ordered consumer (an
 * ephemeral, flow-controlled consumer the client recreates from the last sequence it saw) reads
 * the stream from the sequence after the one in the marker. The marker holds the last committed
 * stream sequence, so nothing is acknowledged and a restart reads strictly after it: exactly
 * once. File names are the stream sequence zero-padded to 20 digits. A lost connection is not
 * reconnected behind the worker's back: it fails the run, which starts again from the marker.
 */
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg, type OrderedConsumerOptions } from '@nats-io/jetstream';
import { SluiceError } from '../../errors/index.js';
import type { NatsJetstreamConnector } from '../../pps/spec/index.js';
import {
  errorText, MessageBuffer, padNumber, redactUrl, urlWithPassword,
  type ConnectorContext, type ConnectorMessage, type ConnectorSource, type Json,
} from './connector-source.js';

export class NatsJetstreamSource implements ConnectorSource {
  readonly kind = 'natsJetstream' as const;
  readonly delivery = 'exactly-once' as const;
  private nc: NatsConnection | undefined;
  private messages: ConsumerMessages | undefined;
  private buffer: MessageBuffer<ConnectorMessage> | undefined;
  private lastSeq = 0;

  constructor(
    private readonly cfg: NatsJetstreamConnector,
    private readonly ctx: ConnectorContext,
  ) {}

  describe(): string {
    return `JetStream stream ${this.cfg.stream}${this.cfg.subject !== '' ? ` (subject ${this.cfg.subject})` : ''} at ${redactUrl(this.cfg.url)}`;
  }

  async open(state: Json | null): Promise<void> {
    const url = new URL(urlWithPassword(this.cfg.url, this.cfg.passwordEnv, this.ctx.env, 'nats_jetstream'));
    const server = `${url.hostname}:${url.port === '' ? '4222' : url.port}`;
    const auth = url.username !== '' ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : {};
    try {
      this.nc = await connect({ servers: server, ...auth, reconnect: false, timeout: 5_000, name: `sluice-${this.ctx.pipeline}` });
    } catch (err) {
      throw new SluiceError('PPS_CONNECTOR_FAILED', `cannot connect to ${redactUrl(this.cfg.url)}: ${errorText(err)}`, { cause: err });
    }
    const nc = this.nc;
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(this.cfg.stream);
    } catch (err) {
      throw new SluiceError('PPS_CONNECTOR_FAILED', `stream ${this.cfg.stream} at ${redactUrl(this.cfg.url)}: ${errorText(err)}`, { cause: err });
    }
    const resumed = state !== null && typeof state === 'object' && !Array.isArray(state) && state.stream === this.cfg.stream && typeof state.seq === 'number' ? state.seq : undefined;
    // A fresh name each time: the consumer of a killed worker lingers on the server until its
    // inactivity threshold, and one of the same name could not be given a new start sequence.
    const opts: Partial<OrderedConsumerOptions> = {
      name_prefix: `sluice_${this.ctx.pipeline.replace(/[^A-Za-z0-9_-]/g, '_')}_${randomBytes(6).toString('hex')}`,
    };
    if (this.cfg.subject !== '') opts.filter_subjects = this.cfg.subject;
    if (resumed !== undefined) {
      this.lastSeq = resumed;
      opts.deliver_policy = DeliverPolicy.StartSequence;
      opts.opt_start_seq = resumed + 1;
    } else if (this.cfg.start === 'latest') {
      opts.deliver_policy = DeliverPolicy.New;
    } else if (this.cfg.start === '' || this.cfg.start === 'earliest') {
      opts.deliver_policy = DeliverPolicy.All;
    } else {
      opts.deliver_policy = DeliverPolicy.StartSequence;
      opts.opt_start_seq = Number(this.cfg.start);
    }
    const consumer = await jetstream(nc).consumers.get(this.cfg.stream, opts);
    const buffer = new MessageBuffer<ConnectorMessage>(this.ctx.maxMessages * 2);
    this.buffer = buffer;
    const messages = await consumer.consume({ max_messages: Math.min(this.ctx.maxMessages, 10_000) });
    this.messages = messages;
    // The connection closing (the server gone) fails the next read.
    void nc.closed().then((err) => buffer.fail(err ?? new Error('the connection to the NATS server closed')));
    void (async () => {
      for await (const m of messages) {
        buffer.push(toMessage(m));
        await buffer.room();
      }
      buffer.fail(new Error('the JetStream consumer stopped'));
    })().catch((err: unknown) => buffer.fail(err));
  }

  async read(max: number, waitMs: number, signal: AbortSignal): Promise<ConnectorMessage[]> {
    if (this.buffer === undefined) throw new SluiceError('INTERNAL', 'the JetStream source is not open');
    const got = await this.buffer.read(max, waitMs, signal);
    const last = got[got.length - 1];
    if (last !== undefined) this.lastSeq = Number(last.id);
    return got;
  }

  state(): Json {
    return { stream: this.cfg.stream, seq: this.lastSeq };
  }

  async committed(): Promise<void> {
    // Nothing to acknowledge: an ordered consumer does not ack; the marker is the position.
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    this.messages?.stop();
    this.messages = undefined;
    await nc?.close().catch(() => undefined);
  }
}

function toMessage(m: JsMsg): ConnectorMessage {
  const headers: Record<string, string> = { subject: m.subject };
  if (m.headers !== undefined) for (const k of m.headers.keys()) headers[k] = m.headers.get(k);
  return { id: padNumber(m.seq), time: new Date(Number(m.timestampNanos / 1_000_000n)), headers, body: Buffer.from(m.data) };
}
