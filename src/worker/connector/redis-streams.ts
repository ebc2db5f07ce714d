/**
 * Redis Streams (`ioredis`): reads entries with `XREAD COUNT n BLOCK ms STREAMS <stream> <last id>`.
 * The marker holds the last committed entry id, so a restart reads strictly after it: exactly
 * once, with no consumer group and nothing to acknowledge. Each entry's `body_key` field
 * (default `body`) is the message body and its other fields are headers; an entry without that
 * field has its fields as a JSON object for body. File names are the entry id with both parts
 * zero-padded to 20 digits (`00000001764755200000-00000000000000000000`), so they sort in
 * stream order.
 */
import { Redis } from 'ioredis';
import { SluiceError } from '../../errors/index.js';
import type { RedisStreamsConnector } from '../../pps/spec/index.js';
import {
  errorText, padNumber, redactUrl, urlWithPassword,
  type ConnectorContext, type ConnectorMessage, type ConnectorSource, type Json,
} from './connector-source.js';

const ID_RE = /^(\d+)-(\d+)$/;

export class RedisStreamsSource implements ConnectorSource {
  readonly kind = 'redisStreams' as const;
  readonly delivery = 'exactly-once' as const;
  private redis: Redis | undefined;
  private lastId = '0-0';
  private readonly bodyKey: string;

  constructor(
    private readonly cfg: RedisStreamsConnector,
    private readonly ctx: ConnectorContext,
  ) {
    this.bodyKey = cfg.bodyKey === '' ? 'body' : cfg.bodyKey;
  }

  describe(): string {
    return `Redis stream ${this.cfg.stream} at ${redactUrl(this.cfg.url)} (body field ${this.bodyKey})`;
  }

  async open(state: Json | null): Promise<void> {
    const url = urlWithPassword(this.cfg.url, this.cfg.passwordEnv, this.ctx.env, 'redis_streams');
    // No reconnecting and no offline queue: a lost connection fails the read at once, and the
    // worker starts again from the marker.
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 5_000 });
    // Surfaced by the command that fails; the socket's own error says more than "Connection is closed".
    let socketError: unknown;
    redis.on('error', (err: unknown) => {
      socketError ??= err;
    });
    this.redis = redis;
    try {
      await redis.connect();
    } catch (err) {
      throw new SluiceError('PPS_CONNECTOR_FAILED', `cannot connect to ${redactUrl(this.cfg.url)}: ${errorText(socketError ?? err)}`, { cause: err });
    }
    const type = await redis.type(this.cfg.stream);
    if (type === 'none') throw new SluiceError('PPS_CONNECTOR_FAILED', `stream ${this.cfg.stream} does not exist at ${redactUrl(this.cfg.url)}`);
    if (type !== 'stream') throw new SluiceError('PPS_CONNECTOR_FAILED', `key ${this.cfg.stream} at ${redactUrl(this.cfg.url)} is a ${type}, not a stream`);
    const resumed = state !== null && typeof state === 'object' && !Array.isArray(state) && state.stream === this.cfg.stream && typeof state.lastId === 'string' ? state.lastId : undefined;
    if (resumed !== undefined) {
      this.lastId = resumed;
    } else if (this.cfg.start === 'latest') {
      const last = await redis.xrevrange(this.cfg.stream, '+', '-', 'COUNT', 1);
      this.lastId = last[0]?.[0] ?? '0-0';
    } else if (this.cfg.start === '' || this.cfg.start === 'earliest') {
      this.lastId = '0-0';
    } else {
      this.lastId = this.cfg.start.includes('-') ? this.cfg.start : `${this.cfg.start}-0`;
    }
  }

  async read(max: number, waitMs: number): Promise<ConnectorMessage[]> {
    const redis = this.redis;
    if (redis === undefined) throw new SluiceError('INTERNAL', 'the Redis source is not open');
    const block = Math.max(1, Math.round(waitMs));
    const res = (await redis.xreadBuffer('COUNT', max, 'BLOCK', block, 'STREAMS', this.cfg.stream, this.lastId)) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
    if (res === null) return [];
    const out: ConnectorMessage[] = [];
    for (const [, entries] of res) {
      for (const [idBuf, fields] of entries) {
        const id = idBuf.toString();
        const m = ID_RE.exec(id);
        if (m === null) throw new SluiceError('PPS_CONNECTOR_FAILED', `stream ${this.cfg.stream}: entry id ${id} is not <ms>-<seq>`);
        let body: Buffer | undefined;
        const headers: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) {
          const key = fields[i]!.toString();
          if (key === this.bodyKey && body === undefined) body = fields[i + 1]!;
          else headers[key] = fields[i + 1]!.toString();
        }
        out.push({
          id: `${padNumber(m[1]!)}-${padNumber(m[2]!)}`,
          time: new Date(Number(m[1])),
          headers: body === undefined ? {} : headers,
          body: body ?? Buffer.from(JSON.stringify(headers)),
        });
        this.lastId = id;
      }
    }
    return out;
  }

  state(): Json {
    return { stream: this.cfg.stream, lastId: this.lastId };
  }

  async committed(): Promise<void> {
    // Nothing to acknowledge: the position lives in the marker alone.
  }

  async close(): Promise<void> {
    const redis = this.redis;
    this.redis = undefined;
    redis?.disconnect();
  }
}
