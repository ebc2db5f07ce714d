/**
 * A real gRPC client for tests, built with grpc-js from the project's own .proto files (the same
 * files the server loads): promise helpers for unary, server-streaming and client-streaming
 * calls, with the token sent as `authn-token` metadata, as Pachyderm's clients send it.
 */
import * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../src/grpc/registry.js';

type Ctor = new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => grpc.Client;

function ctorOf(file: string, service: string): Ctor {
  let cur: unknown = loadProto(file);
  for (const part of service.split('.')) cur = (cur as Record<string, unknown>)[part];
  return cur as Ctor;
}

export const SERVICES = {
  pfs: ['pfs_v2/pfs.proto', 'pfs_v2.API'],
  version: ['versionpb_v2/version.proto', 'versionpb_v2.API'],
  admin: ['admin_v2/admin.proto', 'admin_v2.API'],
  transaction: ['transaction_v2/transaction.proto', 'transaction_v2.API'],
  health: ['grpc/health/v1/health.proto', 'grpc.health.v1.Health'],
  pps: ['pps_v2/pps.proto', 'pps_v2.API'],
  auth: ['auth_v2/auth.proto', 'auth_v2.API'],
  identity: ['identity_v2/identity.proto', 'identity_v2.API'],
  license: ['license_v2/license.proto', 'license_v2.API'],
} as const;

export type ServiceKey = keyof typeof SERVICES;

// The generated clients are untyped (proto-loader builds them at run time); tests read replies as
// plain records and assert on their fields.
export type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above

type Method = (...args: unknown[]) => unknown;

export class GrpcTestClient {
  private readonly clients = new Map<ServiceKey, grpc.Client>();

  constructor(readonly address: string, public token?: string, readonly extraMetadata: Record<string, string> = {}) {}

  private client(key: ServiceKey): grpc.Client {
    let c = this.clients.get(key);
    if (c === undefined) {
      const [file, service] = SERVICES[key];
      const Ctor = ctorOf(file, service);
      c = new Ctor(this.address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
      this.clients.set(key, c);
    }
    return c;
  }

  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token !== undefined) md.set('authn-token', this.token);
    for (const [k, v] of Object.entries(this.extraMetadata)) md.set(k, v);
    return md;
  }

  private method(key: ServiceKey, name: string): Method {
    const c = this.client(key) as unknown as Record<string, Method>;
    const m = c[name];
    if (m === undefined) throw new Error(`no method ${name} on ${SERVICES[key][1]}`);
    return m.bind(c);
  }

  unary(key: ServiceKey, name: string, req: Msg = {}): Promise<Msg> {
    return new Promise((resolve, reject) => {
      this.method(key, name)(req, this.metadata(), (err: grpc.ServiceError | null, res: Msg) => (err !== null ? reject(err) : resolve(res)));
    });
  }

  stream(key: ServiceKey, name: string, req: Msg = {}): grpc.ClientReadableStream<Msg> {
    return this.method(key, name)(req, this.metadata()) as grpc.ClientReadableStream<Msg>;
  }

  async list(key: ServiceKey, name: string, req: Msg = {}): Promise<Msg[]> {
    const out: Msg[] = [];
    for await (const m of this.stream(key, name, req)) out.push(m as Msg);
    return out;
  }

  /** A client stream; `done` settles with the reply. */
  clientStream(key: ServiceKey, name: string): { call: grpc.ClientWritableStream<Msg>; done: Promise<Msg> } {
    let call!: grpc.ClientWritableStream<Msg>;
    const done = new Promise<Msg>((resolve, reject) => {
      call = this.method(key, name)(this.metadata(), (err: grpc.ServiceError | null, res: Msg) => (err !== null ? reject(err) : resolve(res))) as grpc.ClientWritableStream<Msg>;
    });
    done.catch(() => undefined);
    return { call, done };
  }

  /** One ModifyFile call with these messages. */
  async modifyFile(msgs: Msg[]): Promise<Msg> {
    const { call, done } = this.clientStream('pfs', 'ModifyFile');
    for (const m of msgs) call.write(m);
    call.end();
    return done;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** The status of a failed call (or 'ok'), for asserting on errors. */
export async function statusOf(p: Promise<unknown>): Promise<{ code: number | 'ok'; details: string; sluiceCode?: string }> {
  try {
    await p;
    return { code: 'ok', details: '' };
  } catch (err) {
    const e = err as grpc.ServiceError;
    const sc = e.metadata?.get('sluice-error-code')[0];
    return { code: e.code, details: e.details, ...(sc !== undefined ? { sluiceCode: String(sc) } : {}) };
  }
}

export const branch = (repo: string, name = 'master'): Msg => ({ repo: { name: repo }, name });
export const commitOf = (repo: string, branchName = 'master', id = ''): Msg => ({ branch: branch(repo, branchName), id });
export const fileOf = (repo: string, path: string, branchName = 'master', id = ''): Msg => ({ commit: commitOf(repo, branchName, id), path });
export const putMsgs = (repo: string, files: Record<string, string | Buffer>, branchName = 'master'): Msg[] => [
  { set_commit: commitOf(repo, branchName) },
  ...Object.entries(files).flatMap(([path, data]) => [{ delete_file: { path } }, { add_file: { path, raw: { value: Buffer.isBuffer(data) ? data : Buffer.from(data) } } }]),
];
