/**
 * The SDK for browsers (and any runtime with `fetch`): the same methods as the Node `Client`,
 * over `FetchTransport`, without Node's config-file lookup or stream types. The web console
 * (`src/console`) is built on this alone.
 *
 * @example
 * ```ts
 * import { BrowserClient } from './browser.js';
 * const c = new BrowserClient({ baseUrl: location.origin, token: sessionStorage.getItem('token') ?? undefined });
 * const repos = await c.listRepos();
 * ```
 */
import { ClientCore } from './core.js';
import { FetchTransport, type FetchBody } from './fetch-transport.js';

export interface BrowserClientOptions {
  /** The daemon's origin, e.g. `http://127.0.0.1:30650` (in a page it serves: `location.origin`). */
  baseUrl: string;
  token?: string;
}

export class BrowserClient extends ClientCore<FetchBody> {
  constructor(opts: BrowserClientOptions) {
    super(opts.baseUrl.replace(/\/+$/, ''), opts.token, new FetchTransport());
  }
}

export { ClientCore, Upload, type Transport, type TransportRequest, type TransportResponse, type HttpMethod } from './core.js';
export { FetchTransport, type FetchBody } from './fetch-transport.js';
export * from '../api/types.js';
export * from '../api/pps-types.js';
export * from '../api/auth-types.js';
export { SluiceError, isSluiceError, type ErrorCode } from '../errors/index.js';
