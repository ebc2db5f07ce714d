/**
 * The gRPC framework: loads the project's own .proto files (proto/), and lets each service file
 * declare its handlers with the ONE authorization the HTTP API uses.
 *
 * Promises:
 * - Every handler names, per request, the HTTP route(s) of `src/auth/route-table.ts` whose rule
 *   guards it (`RouteView`), with the request's values placed where that rule looks (`params`,
 *   `body`, `query`). `AuthService.authorizeRequest` decides, exactly as for HTTP: a route with no
 *   rule is refused, and so is a handler that names no route. The route's effect (the creator
 *   owns a new repo, a deleted repo's bindings go) runs after the handler succeeded.
 * - The token is read from the `authn-token` metadata, as Pachyderm's clients send it. A request
 *   carrying `pach-transaction` is refused (Sluice runs no transactions), except by the
 *   transaction service itself.
 * - Streams stay streams: server streams honour back-pressure (`write` returning false waits for
 *   `drain`), client streams are consumed one message at a time, and a call the client cancels
 *   aborts `ctx.signal`, which stops the handler (a cancelled client stream throws from its
 *   message iterator, so nothing after it runs).
 * - A method declared in a loaded .proto without a handler answers UNIMPLEMENTED naming it;
 *   methods of services not loaded at all get grpc-js's own UNIMPLEMENTED, which names them too.
 * - Errors map through `toGrpcError` (errors.ts).
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { AuthService, Caller, RouteId } from '../auth/index.js';
import { SluiceError } from '../errors/index.js';
import { packageRoot } from '../lib/version.js';
import type { Pfs } from '../pfs/index.js';
import type { Pps } from '../pps/index.js';
import { notServed, toGrpcError } from './errors.js';

export const PROTO_DIR = join(packageRoot(), 'proto');

/**
 * How messages look in handlers: field names as in the .proto (snake_case), 64-bit integers as
 * JavaScript numbers (sizes and counts stay far below 2^53), enums as their names, unset fields
 * with their defaults, and each oneof's chosen field named by a virtual field of the oneof's name.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** Pachyderm's clients put up to ~20 MiB of file bytes in one ModifyFile message. */
export const MAX_RECEIVE_MESSAGE_BYTES = 64 * 1024 * 1024;

export const TOKEN_METADATA = 'authn-token';
export const TRANSACTION_METADATA = 'pach-transaction';

const loaded = new Map<string, grpc.GrpcObject>();

/** The package tree of one .proto file under proto/ (e.g. 'pfs_v2/pfs.proto'), loaded once. */
export function loadProto(file: string): grpc.GrpcObject {
  let obj = loaded.get(file);
  if (obj === undefined) {
    obj = grpc.loadPackageDefinition(protoLoader.loadSync(join(PROTO_DIR, file), LOADER_OPTIONS));
    loaded.set(file, obj);
  }
  return obj;
}

/** The definition of a service by its full name ('pfs_v2.API', 'grpc.health.v1.Health'). */
export function serviceDefinition(file: string, service: string): grpc.ServiceDefinition {
  let cur: unknown = loadProto(file);
  for (const part of service.split('.')) cur = (cur as Record<string, unknown> | undefined)?.[part];
  const ctor = cur as { service?: grpc.ServiceDefinition } | undefined;
  if (ctor?.service === undefined) throw new Error(`service ${service} is not defined in proto/${file}`);
  return ctor.service;
}

/** What the services are built on: the same domain objects the HTTP routes use. */
export interface GrpcDeps {
  pfs: Pfs;
  pps?: Pps;
  auth: AuthService;
  /** Sluice's package version. */
  version: string;
  /** Stable for one store (the daemon derives it from its data directory and metadata store). */
  clusterId: string;
}

/** One HTTP route whose rule guards a gRPC request, and the request's values as that rule reads them. */
export interface RouteView {
  route: RouteId;
  params?: Record<string, unknown>;
  body?: unknown;
  query?: Record<string, unknown>;
}

export interface CallContext {
  /** `/package.Service/Method`. */
  method: string;
  caller: Caller;
  metadata: grpc.Metadata;
  /** The `authn-token` the call carried, if any (to re-authorize further views). */
  token: string | undefined;
  /** Aborted when the client cancels the call or its deadline passes. */
  signal: AbortSignal;
  /** Authorizes one more view during the call (client streams learn their target as they go). */
  authorize(view: RouteView): Promise<void>;
  /** Queues an effect to run once the call has succeeded. */
  afterSuccess(fn: () => Promise<void>): void;
}

export type Guard<Req> = (req: Req) => RouteView | RouteView[];

type UnaryFn<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;
type ServerStreamFn<Req, Res> = (req: Req, ctx: CallContext) => AsyncIterable<Res>;
type ClientStreamFn<Req, Res> = (messages: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>;

interface CallLike {
  metadata: grpc.Metadata;
  cancelled?: boolean;
  on(event: 'cancelled', fn: () => void): unknown;
}

function firstValue(md: grpc.Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : v.toString('utf8');
  return s === '' ? undefined : s;
}

function splitRoute(route: RouteId): { method: string; route: string } {
  const sp = route.indexOf(' ');
  return { method: route.slice(0, sp), route: route.slice(sp + 1) };
}

/** Declares the handlers of one service; `GrpcRegistry.install` adds them to a server. */
export class ServiceBuilder {
  readonly handlers = new Map<string, grpc.UntypedHandleCall>();

  constructor(
    private readonly registry: GrpcRegistry,
    readonly file: string,
    readonly service: string,
    readonly definition: grpc.ServiceDefinition,
    private readonly opts: { allowTransaction?: boolean },
  ) {}

  private path(method: string): string {
    const m = this.definition[method];
    if (m === undefined) throw new Error(`${this.service} has no method ${method} in proto/${this.file}`);
    return m.path;
  }

  unary<Req, Res>(method: string, guard: Guard<Req>, fn: UnaryFn<Req, Res>): this {
    const path = this.path(method);
    const handler: grpc.handleUnaryCall<Req, Res> = (call, callback) => {
      void (async () => {
        const { ctx, runAfter, dispose } = await this.registry.open(path, call, this.opts, guard(call.request));
        try {
          const res = await fn(call.request, ctx);
          await runAfter();
          callback(null, res);
        } finally {
          dispose();
        }
      })().catch((err: unknown) => callback(toGrpcError(err)));
    };
    this.handlers.set(method, handler as grpc.UntypedHandleCall);
    return this;
  }

  serverStream<Req, Res>(method: string, guard: Guard<Req>, fn: ServerStreamFn<Req, Res>): this {
    const path = this.path(method);
    const handler: grpc.handleServerStreamingCall<Req, Res> = (call) => {
      void (async () => {
        const { ctx, runAfter, dispose } = await this.registry.open(path, call, this.opts, guard(call.request));
        try {
          for await (const msg of fn(call.request, ctx)) {
            if (ctx.signal.aborted) break;
            if (!call.write(msg)) await waitDrain(call, ctx.signal);
          }
          if (ctx.signal.aborted) return;
          await runAfter();
          call.end();
        } finally {
          dispose();
        }
      })().catch((err: unknown) => {
        if (!call.cancelled) call.emit('error', toGrpcError(err));
      });
    };
    this.handlers.set(method, handler as grpc.UntypedHandleCall);
    return this;
  }

  /** A client stream: `guard` names what any call needs; handlers authorize more as they read. */
  clientStream<Req, Res>(method: string, guard: RouteView | RouteView[], fn: ClientStreamFn<Req, Res>): this {
    const path = this.path(method);
    const handler: grpc.handleClientStreamingCall<Req, Res> = (call, callback) => {
      void (async () => {
        const { ctx, runAfter, dispose } = await this.registry.open(path, call, this.opts, guard);
        try {
          const res = await fn(messages<Req>(call, ctx.signal), ctx);
          if (ctx.signal.aborted) throw cancelledError(path);
          await runAfter();
          callback(null, res);
        } finally {
          dispose();
        }
      })().catch((err: unknown) => {
        // A client that cancelled is gone; the error only matters for what the handler undid.
        callback(toGrpcError(err));
      });
    };
    this.handlers.set(method, handler as grpc.UntypedHandleCall);
    return this;
  }

  /** Declares a method of the .proto as deliberately not served, with a reason. */
  notServed(method: string, why: string): this {
    const path = this.path(method);
    this.handlers.set(method, refusing(this.definition[method]!, notServed(path.slice(1), why)));
    return this;
  }
}

function cancelledError(path: string): SluiceError {
  return new SluiceError('UNAVAILABLE', `${path.slice(1)} was cancelled by the client; nothing was changed`);
}

async function waitDrain(call: grpc.ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The messages of a client stream, one at a time; throws once the client cancels. */
async function* messages<T>(call: Readable, signal: AbortSignal): AsyncGenerator<T> {
  const it = (call as AsyncIterable<T>)[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new SluiceError('UNAVAILABLE', 'the client cancelled the stream; nothing was changed'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const r = await Promise.race([it.next(), aborted]);
      if (r.done === true) return;
      yield r.value;
    }
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

function refusing(def: grpc.MethodDefinition<unknown, unknown>, err: SluiceError): grpc.UntypedHandleCall {
  if (!def.responseStream) {
    return ((_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(toGrpcError(err))) as grpc.UntypedHandleCall;
  }
  return ((call: grpc.ServerWritableStream<unknown, unknown>) => {
    call.emit('error', toGrpcError(err));
  }) as grpc.UntypedHandleCall;
}

/** Collects services; `install` adds them (with UNIMPLEMENTED for undeclared methods) to a server. */
export class GrpcRegistry {
  private readonly services: ServiceBuilder[] = [];

  constructor(readonly deps: GrpcDeps) {}

  /**
   * Starts declaring a service of a proto file. `allowTransaction` is for the transaction service,
   * whose own calls may carry the `pach-transaction` metadata.
   */
  service(file: string, service: string, opts: { allowTransaction?: boolean } = {}): ServiceBuilder {
    const b = new ServiceBuilder(this, file, service, serviceDefinition(file, service), opts);
    this.services.push(b);
    return b;
  }

  /** Fully-qualified names of every method declared, by whether a handler serves it. */
  methods(): { served: string[]; unserved: string[] } {
    const served: string[] = [];
    const unserved: string[] = [];
    for (const s of this.services) {
      for (const [name, def] of Object.entries(s.definition)) (s.handlers.has(name) ? served : unserved).push(def.path.slice(1));
    }
    return { served, unserved };
  }

  install(server: grpc.Server): void {
    for (const s of this.services) {
      const impl: grpc.UntypedServiceImplementation = {};
      for (const [name, def] of Object.entries(s.definition)) {
        impl[name] = s.handlers.get(name) ?? refusing(def, notServed(def.path.slice(1)));
      }
      server.addService(s.definition, impl);
    }
  }

  /** Authenticates and authorizes one call; returns its context and the effects to run after. */
  async open(
    path: string,
    call: CallLike,
    opts: { allowTransaction?: boolean },
    guard: RouteView | RouteView[],
  ): Promise<{ ctx: CallContext; runAfter: () => Promise<void>; dispose: () => void }> {
    const ac = new AbortController();
    const onCancel = (): void => ac.abort();
    call.on('cancelled', onCancel);
    if (call.cancelled === true) ac.abort();
    const md = call.metadata;
    const token = firstValue(md, TOKEN_METADATA);
    const txn = firstValue(md, TRANSACTION_METADATA);
    if (txn !== undefined && opts.allowTransaction !== true) {
      throw new SluiceError('NOT_IMPLEMENTED', `${path.slice(1)} was sent in transaction ${txn}, but Sluice does not run transactions; nothing was done`, { details: { transaction: txn } });
    }
    const afters: Array<() => Promise<void>> = [];
    const auth = this.deps.auth;
    const authorizeView = async (view: RouteView): Promise<Caller> => {
      const { method, route } = splitRoute(view.route);
      const decision = await auth.authorizeRequest(token, { method, route, params: view.params ?? {}, body: view.body, query: view.query ?? {} });
      const after = decision.after;
      if (after !== undefined) afters.push(() => after(undefined));
      return decision.caller;
    };
    const views = Array.isArray(guard) ? guard : [guard];
    if (views.length === 0) {
      throw new SluiceError('AUTH_PERMISSION_DENIED', `${path.slice(1)} names no authorization rule, so nobody may call it`, { details: { method: path.slice(1) } });
    }
    let caller: Caller = { kind: 'anonymous' };
    for (const [i, v] of views.entries()) {
      const c = await authorizeView(v);
      if (i === 0) caller = c;
    }
    const ctx: CallContext = {
      method: path,
      caller,
      metadata: md,
      token,
      signal: ac.signal,
      authorize: async (view) => {
        await authorizeView(view);
      },
      afterSuccess: (fn) => {
        afters.push(fn);
      },
    };
    return {
      ctx,
      runAfter: async () => {
        for (const a of afters) await a();
      },
      dispose: () => {
        (call as unknown as { off?: (e: string, f: () => void) => void }).off?.('cancelled', onCancel);
      },
    };
  }
}
