/**
 * One address for two protocols: a TCP listener that reads the first bytes of each connection
 * and hands the socket, bytes put back, to the gRPC server when they are HTTP/2's client preface
 * ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") and to the HTTP/1.1 server otherwise. HTTP/1.1 has no
 * method `PRI`, so three bytes decide; a connection that sends nothing is closed after a timeout.
 */
import net from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Bytes needed to tell the two apart: "PRI" vs. any HTTP/1.1 method. */
const DECIDE_BYTES = 3;
const FIRST_BYTES_TIMEOUT_MS = 30_000;

export interface DualListener {
  server: net.Server;
  /** The port actually bound. */
  port: number;
  close(): Promise<void>;
}

export function isHttp2Preface(head: Buffer): boolean {
  const n = Math.min(head.length, PREFACE.length);
  return n > 0 && head.subarray(0, n).equals(PREFACE.subarray(0, n));
}

export async function listenDual(opts: { host: string; port: number; http: HttpServer; grpc: (socket: Duplex) => void }): Promise<DualListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ pauseOnConnect: false, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), FIRST_BYTES_TIMEOUT_MS);
    timer.unref();
    const onError = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    socket.on('error', onError);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const grpc = isHttp2Preface(head);
      if (grpc && head.length < DECIDE_BYTES) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.pause();
      socket.unshift(head);
      if (grpc) {
        // The HTTP/2 session reads what is buffered (the unshifted bytes) itself, then consumes
        // the socket's handle natively; resuming here would hand those bytes to no listener.
        opts.grpc(socket);
      } else {
        opts.http.emit('connection', socket);
        // The HTTP parser reads through 'data' events, which start flowing here.
        socket.resume();
      }
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  return {
    server,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Connections still deciding belong to nobody else: close them here.
        for (const s of sockets) if (s.listenerCount('data') > 0 && !s.destroyed) s.destroy();
      });
    },
  };
}
