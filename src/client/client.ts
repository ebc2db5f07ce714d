/**
 * The TypeScript SDK for Node: the methods of `ClientCore` (every operation of the HTTP API)
 * over undici's pooled keep-alive connections, plus what only Node has: file bodies as
 * streams both ways (`Readable`, async iterables) and the daemon found the way pachctl finds
 * it. Failed calls throw the same `SluiceError` (same code) the server raised. A long-lived
 * client pays no connection set-up per call.
 *
 * @example
 * ```ts
 * const c = new Client();                       // PACHD_ADDRESS, PACH_CONFIG or 127.0.0.1:30650
 * await c.createRepo('images');
 * await c.putFile('images', 'master', '/a.txt', Buffer.from('hello'));
 * const text = await c.getFileBuffer('images', 'master', '/a.txt');
 * ```
 */
import { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { ClientCore, Upload as CoreUpload, type Transport, type TransportRequest, type TransportResponse } from './core.js';
import { resolveConfig, toBaseUrl } from './config.js';

export type Body = Readable | Buffer | Uint8Array | string | AsyncIterable<Uint8Array>;

/** An upload session whose file bodies may be Node streams (see `ClientCore.createUpload`). */
export class Upload extends CoreUpload<Body> {}

export interface ClientOptions {
  /** host:port or a URL; defaults to PACHD_ADDRESS, then the config file, then 127.0.0.1:30650. */
  address?: string;
  token?: string;
  /** Parallel connections to the daemon (default 16). */
  connections?: number;
}

/** An undici answer: the portable readers, and the body as a Node stream. */
export interface UndiciResponse extends TransportResponse {
  readable: Readable;
}

/** Requests over one undici Agent (a pool of keep-alive connections). */
export class UndiciTransport implements Transport<Body, UndiciResponse> {
  private readonly agent: Agent;

  constructor(connections = 16) {
    this.agent = new Agent({ connections, keepAliveTimeout: 60_000, bodyTimeout: 0, headersTimeout: 0 });
  }

  async request(req: TransportRequest<Body>): Promise<UndiciResponse> {
    const b = req.body;
    const body: Dispatcher.DispatchOptions['body'] =
      b === undefined || typeof b === 'string' || b instanceof Uint8Array || b instanceof Readable ? b : Readable.from(b);
    const res = await request(req.url, { method: req.method, headers: req.headers, body, dispatcher: this.agent, signal: req.signal });
    return {
      status: res.statusCode,
      text: () => res.body.text(),
      json: () => res.body.json(),
      bytes: async () => Buffer.from(await res.body.arrayBuffer()),
      chunks: () => res.body,
      dump: () => res.body.dump(),
      readable: res.body as unknown as Readable,
    };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

export class Client extends ClientCore<Body, UndiciResponse> {
  constructor(opts: ClientOptions = {}) {
    const cfg = resolveConfig();
    super(
      opts.address !== undefined ? toBaseUrl(opts.address) : cfg.baseUrl,
      opts.token ?? cfg.token,
      new UndiciTransport(opts.connections ?? 16),
      '; is it running? Set PACHD_ADDRESS or the active context in PACH_CONFIG',
    );
  }

  /** Starts an upload session: changes staged in it become visible only when it is committed. */
  override async createUpload(): Promise<Upload> {
    const { id } = await this.call<{ id: string }>('POST', '/uploads');
    return new Upload(this, id);
  }

  /** A file's bytes as a stream. */
  async getFile(repo: string, ref: string, path: string): Promise<Readable> {
    const res = await this.send('GET', `/repos/${encodeURIComponent(repo)}/commits/${encodeURIComponent(ref)}/file`, { query: { path } });
    return res.readable;
  }

  async getFileBuffer(repo: string, ref: string, path: string): Promise<Buffer> {
    const b = await this.getFileBytes(repo, ref, path);
    return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  /** A directory (or file) as a tar stream, paths relative to `path`. */
  async getTar(repo: string, ref: string, path: string): Promise<Readable> {
    const res = await this.send('GET', `/repos/${encodeURIComponent(repo)}/commits/${encodeURIComponent(ref)}/file`, { query: { path, tar: 'true' } });
    return res.readable;
  }
}
