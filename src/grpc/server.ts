/**
 * The gRPC server: every service of `services.ts` on one grpc-js server that never listens on a
 * port of its own. Connections arrive through grpc-js's connection injector from the daemon's
 * one listener (`dual-listener.ts`), which hands over each socket that opens with HTTP/2's
 * preface, so gRPC and HTTP/1.1 share `--port` with no extra hop.
 */
import type http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { GrpcRegistry, MAX_RECEIVE_MESSAGE_BYTES, type GrpcDeps } from './registry.js';
import { SERVICES } from './services.js';

/**
 * HTTP/2 receive windows. With HTTP/2's default of 64 KiB a client may send 64 KiB, then waits
 * for the server's WINDOW_UPDATE: on a busy 2-core machine that halved ModifyFile's throughput
 * (1 GiB at ~55 MB/s against ~100 MB/s over HTTP/1.1; bench/grpc-put.ts). 8 MiB per stream and
 * per connection bounds what one call may have in flight (and so in the daemon's memory).
 */
export const FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;
/** The largest DATA frame a client may send (HTTP/2's default is 16 KiB: one JS event per frame). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * grpc-js 1.14 has no server option for the HTTP/2 windows. It passes `commonServerOptions` to
 * `http2.createServer` and keeps its HTTP/2 servers in `http2Servers`; both are private, so this
 * is pinned by a test (test/e2e/grpc-pfs.test.ts checks the SETTINGS a client receives).
 */
interface GrpcJsInternals {
  commonServerOptions: http2.ServerOptions;
  http2Servers: Map<http2.Http2Server, unknown>;
}

function internals(server: grpc.Server): GrpcJsInternals {
  const i = server as unknown as Partial<GrpcJsInternals>;
  if (i.commonServerOptions === undefined || !(i.http2Servers instanceof Map)) {
    throw new Error('@grpc/grpc-js internals changed (commonServerOptions, http2Servers): see src/grpc/server.ts');
  }
  return i as GrpcJsInternals;
}

function widenFlowControl(server: grpc.Server, bytes: number): void {
  const opts = internals(server).commonServerOptions;
  opts.settings = { ...(opts.settings ?? {}), initialWindowSize: bytes, maxFrameSize: MAX_FRAME_BYTES };
}

export interface GrpcServer {
  server: grpc.Server;
  registry: GrpcRegistry;
  /** Takes over one accepted socket whose first bytes are HTTP/2's preface. */
  accept(socket: Duplex): void;
  /** Closes every gRPC session: in-flight calls get `graceMs` to finish, then are cancelled. */
  close(graceMs?: number): Promise<void>;
}

export function createGrpcServer(deps: GrpcDeps): GrpcServer {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_RECEIVE_MESSAGE_BYTES,
  });
  const registry = new GrpcRegistry(deps);
  for (const register of SERVICES) register(registry, deps);
  registry.install(server);
  widenFlowControl(server, FLOW_CONTROL_WINDOW_BYTES);
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const h2 = [...internals(server).http2Servers.keys()].at(-1);
  h2?.on('session', (session: http2.ServerHttp2Session) => {
    try {
      session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES);
    } catch {
      // A session already closing has no window to widen.
    }
  });
  return {
    server,
    registry,
    accept: (socket) => injector.injectConnection(socket),
    async close(graceMs = 1000) {
      injector.drain(graceMs);
      injector.destroy();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        t.unref();
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
