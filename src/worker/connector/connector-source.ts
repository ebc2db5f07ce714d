/**
 * What the connector worker needs from a source (Redis Streams, NATS JetStream, AMQP, MQTT,
 * PostgreSQL CDC): open at a position, read messages, say which position covers what was read,
 * and hear that a batch is committed. Each source lives in its own file beside this one and is
 * loaded only when a spout uses it.
 *
 * The contract that makes delivery exactly-once (or at-least-once with acks):
 * - `open(state)` resumes strictly after the position in `state` (the marker of the last
 *   commit), or at the spec's start position when there is no marker yet;
 * - `state()` is the marker content that describes every message returned by `read` so far; the
 *   worker commits it with the batch in ONE transaction;
 * - `committed()` is called once that commit has landed: sources that acknowledge (AMQP
 *   classic queues, MQTT) acknowledge exactly the messages read so far, never before;
 * - any error (the broker gone, auth refused, a missing stream) is thrown as the broker said it;
 *   the worker then closes the source, waits, and opens a new one from the marker again, so
 *   nothing read but not committed is lost.
 */
import { SluiceError } from '../../errors/index.js';
import type { ConnectorKind, SpoutConnector } from '../../pps/spec/index.js';

/** A JSON value (the marker's content is JSON). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface ConnectorMessage {
  /** The file name (no slash): the source's own id, zero-padded so names sort in source order. */
  id: string;
  /** When the source says the message was made (or, where it says nothing, when it arrived). */
  time: Date;
  headers: Record<string, string>;
  body: Buffer;
}

export type Delivery = 'exactly-once' | 'at-least-once';

export interface ConnectorSource {
  readonly kind: ConnectorKind;
  readonly delivery: Delivery;
  /** Connects, checks the stream/queue/topic exists, and positions after `state` (null: first run). */
  open(state: Json | null, signal: AbortSignal): Promise<void>;
  /**
   * Up to `max` messages, waiting at most `waitMs` for the first one ([] when none came).
   * Throws when the connection fails.
   */
  read(max: number, waitMs: number, signal: AbortSignal): Promise<ConnectorMessage[]>;
  /** True when the source sends nothing more until the batch is committed (close it early). */
  stalled?(): boolean;
  /** The marker content for everything read so far. */
  state(): Json;
  /** Everything read so far is committed (with `state()` in the marker). */
  committed(): Promise<void>;
  close(): Promise<void>;
  /** Shown in the spout's log at start: what is read, from where. */
  describe(): string;
}

export interface ConnectorContext {
  pipeline: string;
  /** The worker's environment (for `password_env`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Messages at most in one batch (sources size their prefetch with it). */
  maxMessages: number;
}

/** The kind of source a connector spec names, and its settings. */
export function connectorKind(c: SpoutConnector): ConnectorKind {
  for (const k of ['redisStreams', 'natsJetstream', 'amqp', 'mqtt', 'postgresCdc'] as const) if (c[k] !== undefined) return k;
  throw new SluiceError('INTERNAL', 'spout.connector names no source');
}

/** As written in specs and docs: `redis_streams`. */
export function connectorName(kind: ConnectorKind): string {
  return kind.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);
}

/** `url` with the password from the environment variable `passwordEnv` (when named). */
export function urlWithPassword(url: string, passwordEnv: string, env: Readonly<Record<string, string | undefined>>, what: string): string {
  if (passwordEnv === '') return url;
  const password = env[passwordEnv];
  if (password === undefined) throw new SluiceError('PPS_CONNECTOR_FAILED', `${what}: password_env names ${passwordEnv}, which is not set in the worker's environment`);
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

/** `url` without its password, for logs and reasons. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** A number as a fixed-width decimal string, so that names sort in numeric order. */
export function padNumber(n: bigint | number | string, width = 20): string {
  return String(n).padStart(width, '0');
}

/** The message of an error, with its cause's where that says more (driver errors nest them). */
export function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(errorText).join('; ');
  if (err instanceof Error) return err.message === '' && err.cause !== undefined ? errorText(err.cause) : err.message;
  return String(err);
}

/**
 * A bounded buffer between a push-based client (a subscription callback, a consume loop) and
 * `read`: `push` adds, `read` takes up to `max` (waiting for the first one), `fail` makes the
 * next read throw. `room()` resolves when the buffer is below `limit`, for pumps that can wait.
 */
export class MessageBuffer<T> {
  private items: T[] = [];
  private head = 0;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private roomWaiters: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  fail(error: unknown): void {
    this.failure ??= { error };
    this.wake?.();
  }

  /** Resolves once fewer than `limit` items wait (at once when that is so already). */
  async room(): Promise<void> {
    if (this.length < this.limit) return;
    await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  async read(max: number, waitMs: number, signal: AbortSignal): Promise<T[]> {
    if (this.length === 0 && this.failure === undefined && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal.addEventListener('abort', done, { once: true });
        this.wake = done;
      });
    }
    if (this.length === 0 && this.failure !== undefined) throw this.failure.error;
    const n = Math.min(max, this.length);
    const out = this.items.slice(this.head, this.head + n);
    this.head += n;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.length < this.limit) for (const w of this.roomWaiters.splice(0)) w();
    return out;
  }
}
