/**
 * RabbitMQ over AMQP 0-9-1 (`amqplib`), two ways, by `queue_type`:
 * - `stream` (`x-queue-type: stream`): the consumer starts at `x-stream-offset` = the marker's
 *   offset + 1, so a restart reads strictly after what is committed: exactly once. File names
 *   are the stream offset, zero-padded to 20 digits;
 * - `classic` / `quorum`: a queue forgets what is acknowledged, so messages are acknowledged only
 *   once their batch is committed (at-least-once from the broker). A crash between the commit
 *   and the acknowledgement redelivers the last batch: the marker keeps the message ids
 *   (`message_id` property) of the last `dedupe_window` committed messages (default twice the
 *   batch) and such redeliveries are dropped, so with publishers that set message ids nothing is
 *   repeated. Messages without an id cannot be recognised and may repeat. File names are a
 *   sequence number of this spout (kept in the marker), zero-padded to 20 digits.
 * The queue must exist (a missing one is the broker's 404, shown as the pipeline's reason).
 */
import * as amqp from 'amqplib';
import { SluiceError } from '../../errors/index.js';
import type { AmqpConnector } from '../../pps/spec/index.js';
import {
  errorText, MessageBuffer, padNumber, redactUrl, urlWithPassword,
  type ConnectorContext, type ConnectorMessage, type ConnectorSource, type Json,
} from './connector-source.js';

interface Received {
  msg: amqp.ConsumeMessage;
  message: ConnectorMessage | undefined;
}

function headerText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return JSON.stringify(v);
}

export class AmqpSource implements ConnectorSource {
  readonly kind = 'amqp' as const;
  readonly delivery;
  private conn: amqp.ChannelModel | undefined;
  private ch: amqp.Channel | undefined;
  private buffer: MessageBuffer<amqp.ConsumeMessage> | undefined;
  private readonly stream: boolean;
  private readonly window: number;
  /** Stream: the last offset read. Classic: the last sequence number given. */
  private position = -1;
  /** Classic: ids of committed messages (oldest first), and of those read since. */
  private ids: string[] = [];
  private idSet = new Set<string>();
  /** The last message read (acknowledged, with everything before it, once committed). */
  private lastRead: amqp.ConsumeMessage | undefined;

  constructor(
    private readonly cfg: AmqpConnector,
    private readonly ctx: ConnectorContext,
  ) {
    this.stream = cfg.queueType === 'stream';
    this.delivery = this.stream ? ('exactly-once' as const) : ('at-least-once' as const);
    this.window = cfg.dedupeWindow > 0 ? cfg.dedupeWindow : 2 * ctx.maxMessages;
  }

  describe(): string {
    return `${this.stream ? 'stream' : this.cfg.queueType || 'classic'} queue ${this.cfg.queue} at ${redactUrl(this.cfg.url)}` +
      (this.stream ? '' : ` (ack after commit; the last ${this.window} message ids kept to drop redeliveries)`);
  }

  async open(state: Json | null): Promise<void> {
    const url = urlWithPassword(this.cfg.url, this.cfg.passwordEnv, this.ctx.env, 'amqp');
    const prefetch = 2 * this.ctx.maxMessages;
    const buffer = new MessageBuffer<amqp.ConsumeMessage>(Number.MAX_SAFE_INTEGER); // bounded by the prefetch
    this.buffer = buffer;
    try {
      this.conn = await amqp.connect(url, { timeout: 5_000 });
    } catch (err) {
      throw new SluiceError('PPS_CONNECTOR_FAILED', `cannot connect to ${redactUrl(this.cfg.url)}: ${errorText(err)}`, { cause: err });
    }
    this.conn.on('error', (err: Error) => buffer.fail(err));
    this.conn.on('close', (err?: Error) => buffer.fail(err ?? new Error('the connection to the broker closed')));
    const ch = await this.conn.createChannel();
    this.ch = ch;
    let channelError: Error | undefined;
    ch.on('error', (err: Error) => {
      channelError ??= err;
      buffer.fail(err);
    });
    ch.on('close', () => buffer.fail(channelError ?? new Error('the broker closed the channel')));
    try {
      await ch.checkQueue(this.cfg.queue);
    } catch (err) {
      throw new SluiceError('PPS_CONNECTOR_FAILED', `queue ${this.cfg.queue} at ${redactUrl(this.cfg.url)}: ${errorText(channelError ?? err)}`, { cause: err });
    }
    await ch.prefetch(prefetch);
    const s = state !== null && typeof state === 'object' && !Array.isArray(state) && state.queue === this.cfg.queue ? state : undefined;
    const args: Record<string, unknown> = {};
    if (this.stream) {
      if (s !== undefined && typeof s.offset === 'number') {
        this.position = s.offset;
        args['x-stream-offset'] = s.offset + 1;
      } else if (this.cfg.start === 'latest') {
        args['x-stream-offset'] = 'next';
      } else if (this.cfg.start === '' || this.cfg.start === 'earliest') {
        args['x-stream-offset'] = 'first';
      } else {
        args['x-stream-offset'] = Number(this.cfg.start);
      }
    } else if (s !== undefined) {
      if (typeof s.seq === 'number') this.position = s.seq;
      if (Array.isArray(s.ids)) this.ids = s.ids.filter((x): x is string => typeof x === 'string');
      this.idSet = new Set(this.ids);
    }
    await ch.consume(this.cfg.queue, (msg) => {
      if (msg === null) buffer.fail(new Error(`the broker cancelled the consumer of queue ${this.cfg.queue}`));
      else buffer.push(msg);
    }, { noAck: false, arguments: args });
  }

  async read(max: number, waitMs: number, signal: AbortSignal): Promise<ConnectorMessage[]> {
    const buffer = this.buffer;
    if (buffer === undefined) throw new SluiceError('INTERNAL', 'the AMQP source is not open');
    const out: ConnectorMessage[] = [];
    for (const msg of await buffer.read(max, waitMs, signal)) {
      const r = this.received(msg);
      if (r.message === undefined) {
        // A redelivery of a committed message: acknowledge it, commit nothing.
        this.ch?.ack(msg);
        continue;
      }
      this.lastRead = msg;
      out.push(r.message);
    }
    return out;
  }

  private received(msg: amqp.ConsumeMessage): Received {
    const props = msg.properties;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((props.headers ?? {}) as Record<string, unknown>)) headers[k] = headerText(v);
    if (typeof props.messageId === 'string') headers.message_id = props.messageId;
    if (msg.fields.routingKey !== '') headers.routing_key = msg.fields.routingKey;
    const time = typeof props.timestamp === 'number' ? new Date(props.timestamp * 1000) : new Date();
    if (this.stream) {
      const offset = Number((props.headers as Record<string, unknown> | undefined)?.['x-stream-offset']);
      if (!Number.isSafeInteger(offset)) throw new SluiceError('PPS_CONNECTOR_FAILED', `queue ${this.cfg.queue}: a message came without x-stream-offset (is it a stream queue?)`);
      if (offset <= this.position) return { msg, message: undefined }; // a stream resumes at chunk boundaries
      this.position = offset;
      return { msg, message: { id: padNumber(offset), time, headers, body: msg.content } };
    }
    const id = typeof props.messageId === 'string' && props.messageId !== '' ? props.messageId : undefined;
    if (id !== undefined) {
      if (this.idSet.has(id)) return { msg, message: undefined };
      this.idSet.add(id);
      this.ids.push(id);
    }
    this.position++;
    return { msg, message: { id: padNumber(this.position), time, headers, body: msg.content } };
  }

  state(): Json {
    if (this.stream) return { queue: this.cfg.queue, offset: this.position };
    while (this.ids.length > this.window) this.idSet.delete(this.ids.shift()!);
    return { queue: this.cfg.queue, seq: this.position, ids: [...this.ids] };
  }

  async committed(): Promise<void> {
    const last = this.lastRead;
    this.lastRead = undefined;
    if (last !== undefined) this.ch?.ack(last, true);
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    this.ch = undefined;
    await conn?.close().catch(() => undefined);
  }
}
