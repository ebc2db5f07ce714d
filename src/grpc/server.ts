/**
 * The gRPC server: every service of `services.ts` on one grpc-js server that never listens on a
 * port of its own. Connections arrive through grpc-js's connection injector from the daemon's
 * one listener (`dual-listener.ts`), which hands over each socket that opens with HTTP/2's
 * preface, so gRPC and HTTP/1.1 share `--port` with no extra hop.
 */
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { GrpcRegistry, MAX_RECEIVE_MESSAGE_BYTES, type GrpcDeps } from './registry.js';
import { SERVICES } from './services.js';

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
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
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
