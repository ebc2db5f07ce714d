/**
 * grpc-put: putting data through Pachyderm's gRPC API (ModifyFile) against the HTTP API, in one
 * run, each side on its own fresh daemon (so no side profits from the other's chunks):
 *
 * - 1 GiB of random bytes as one file: HTTP SDK `putFile` (one streamed request) against one
 *   ModifyFile of `add_file` messages of 19 MiB, as python-pachyderm sends them;
 * - 100,000 files of 1 KiB in one commit: HTTP SDK (one upload, one streamed tar, commit, which
 *   is what `put file -r` does) against one ModifyFile of `delete_file` + `add_file` per file,
 *   as python-pachyderm's `modify_file_client` sends them.
 *
 * The gRPC client is grpc-js, built from the project's protos, in this process (as the SDK is).
 * With PYCLIENT_PYTHONPATH set (a python-pachyderm 7.x checkout, see docs/grpc.md), the same two
 * puts also run through python-pachyderm itself (`put_file_bytes` of a file object;
 * `modify_file_client` with `put_file_from_bytes` per file).
 *
 * Sizes: GRPC_PUT_BYTES (default 1 GiB), GRPC_PUT_FILES (default 100,000). Goal: gRPC within
 * 20% of HTTP (time ratio <= 1.2).
 */
import { createReadStream } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { Client } from '../src/client/index.js';
import { loadProto } from '../src/grpc/registry.js';
import { envInt, type BenchContext, type Benchmark } from './lib/bench.js';
import type { BenchDaemon } from './lib/daemon.js';
import { writeRandomFile } from './lib/files.js';
import { table } from './lib/report.js';
import { fmt, fmtDuration, fmtInt, mbPerSec, msSince } from './lib/stats.js';
import { generateTar, prng } from './lib/tar-gen.js';

const GIB = 1024 * 1024 * 1024;
const REPO = 'bench';
const SMALL = 1024;
/** python-pachyderm's BUFFER_SIZE. */
const GRPC_CHUNK = 19 * 1024 * 1024;

interface Row {
  what: string;
  side: 'http' | 'grpc' | 'python';
  load: 'big' | 'small';
  ms: number;
  daemonCpuMs: number;
}

type Msg = Record<string, unknown>;

function pfsClient(address: string): grpc.Client & Record<string, (...a: unknown[]) => unknown> {
  const api = (loadProto('pfs_v2/pfs.proto').pfs_v2 as grpc.GrpcObject).API as unknown as new (a: string, c: grpc.ChannelCredentials, o: grpc.ChannelOptions) => grpc.Client;
  return new api(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 }) as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
}

/** One ModifyFile: writes `msgs` honouring back-pressure, resolves with the reply. */
async function modifyFile(address: string, msgs: AsyncIterable<Msg>): Promise<void> {
  const c = pfsClient(address);
  try {
    await new Promise<void>((resolve, reject) => {
      const call = c.ModifyFile!((err: grpc.ServiceError | null) => (err !== null ? reject(err) : resolve())) as grpc.ClientWritableStream<Msg>;
      void (async () => {
        for await (const m of msgs) {
          if (!call.write(m)) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      })().catch((err: unknown) => {
        call.cancel();
        reject(err);
      });
    });
  } finally {
    c.close();
  }
}

const setCommit: Msg = { set_commit: { branch: { repo: { name: REPO }, name: 'master' } } };

async function* bigFileMessages(path: string): AsyncGenerator<Msg> {
  yield setCommit;
  yield { delete_file: { path: '/big' } };
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(GRPC_CHUNK);
      const { bytesRead } = await fh.read(buf, 0, GRPC_CHUNK, null);
      if (bytesRead === 0) return;
      yield { add_file: { path: '/big', raw: { value: buf.subarray(0, bytesRead) } } };
    }
  } finally {
    await fh.close();
  }
}

/** The i-th small file: 1 KiB sliced from one random pool (offsets differ, so contents do). */
function smallFile(pool: Buffer, i: number): { name: string; body: Buffer } {
  const off = (i * 997) % (pool.length - SMALL);
  return { name: `data/d${String(Math.floor(i / 1000)).padStart(4, '0')}/f${String(i).padStart(6, '0')}`, body: pool.subarray(off, off + SMALL) };
}

async function* smallFileMessages(pool: Buffer, n: number): AsyncGenerator<Msg> {
  yield setCommit;
  for (let i = 0; i < n; i++) {
    const f = smallFile(pool, i);
    yield { delete_file: { path: `/${f.name}` } };
    yield { add_file: { path: `/${f.name}`, raw: { value: f.body } } };
  }
}

async function timed(d: BenchDaemon, fn: () => Promise<unknown>): Promise<{ ms: number; daemonCpuMs: number }> {
  const cpu0 = d.cpuMs();
  const start = process.hrtime.bigint();
  await fn();
  return { ms: msSince(start), daemonCpuMs: d.cpuMs() - cpu0 };
}

async function python(pythonPath: string, script: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn('/usr/bin/python3', ['-c', script, ...args], { env: { ...process.env, PYTHONPATH: pythonPath }, stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`python exited with ${code}: ${err.slice(-2000)}`))));
  });
}

const PY_BIG = `
import sys, python_pachyderm
host, port = sys.argv[1].rsplit(':', 1)
c = python_pachyderm.Client(host, int(port))
with open(sys.argv[2], 'rb') as f:
    c.put_file_bytes(('${REPO}', 'master'), '/big', f)
`;

const PY_SMALL = `
import sys, python_pachyderm
host, port = sys.argv[1].rsplit(':', 1)
c = python_pachyderm.Client(host, int(port))
pool = open(sys.argv[2], 'rb').read()
n = int(sys.argv[3])
with c.modify_file_client(('${REPO}', 'master')) as mfc:
    for i in range(n):
        off = (i * 997) % (len(pool) - ${SMALL})
        mfc.put_file_from_bytes('/data/d%04d/f%06d' % (i // 1000, i), pool[off:off + ${SMALL}])
`;

async function check(d: BenchDaemon, what: string, expectFiles: number | undefined, expectBytes: number | undefined): Promise<void> {
  const client = new Client({ address: d.address });
  try {
    if (expectBytes !== undefined) {
      const info = await client.inspectFile(REPO, 'master', '/big');
      if (info.sizeBytes !== expectBytes) throw new Error(`${what}: /big holds ${info.sizeBytes} bytes, expected ${expectBytes}`);
    }
    if (expectFiles !== undefined) {
      const files = (await client.globFile(REPO, 'master', '/data/**')).filter((f) => f.type === 'file').length;
      if (files !== expectFiles) throw new Error(`${what}: the commit holds ${files} files, expected ${expectFiles}`);
    }
    const commits = (await client.listCommits(REPO, { branch: 'master' })).length;
    if (commits !== 1) throw new Error(`${what}: made ${commits} commits, expected 1`);
  } finally {
    await client.close();
  }
}

async function onFreshDaemon(ctx: BenchContext, label: string, fn: (d: BenchDaemon) => Promise<void>): Promise<BenchDaemon> {
  const d = await ctx.startDaemon(label);
  const client = new Client({ address: d.address });
  try {
    await client.createRepo(REPO);
  } finally {
    await client.close();
  }
  await fn(d);
  await ctx.stopDaemon(d);
  return d;
}

export const grpcPut: Benchmark = {
  name: 'grpc-put',
  heading: '8. grpc-put: 1 GiB and 100,000 small files through gRPC ModifyFile against the HTTP API',
  minFreeBytes: 5 * GIB,
  async run(ctx) {
    const bytes = envInt('GRPC_PUT_BYTES', GIB);
    const n = envInt('GRPC_PUT_FILES', 100_000);
    const pyPath = process.env.PYCLIENT_PYTHONPATH;
    const src = join(ctx.dir, 'big.bin');
    ctx.log(`writing ${fmtInt(bytes)} random bytes`);
    await writeRandomFile(src, bytes);
    const rand = prng(8);
    const pool = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE(Math.floor(rand() * 2 ** 32), i);
    const poolPath = join(ctx.dir, 'pool.bin');
    await writeFile(poolPath, pool);

    const rows: Row[] = [];
    const add = (what: string, side: Row['side'], load: Row['load'], t: { ms: number; daemonCpuMs: number }): void => {
      rows.push({ what, side, load, ...t });
    };

    for (const round of [1, 2]) {
      ctx.log(`round ${round}: 1 GiB`);
      await onFreshDaemon(ctx, `http-big-${round}`, async (d) => {
        const client = new Client({ address: d.address });
        try {
          add('HTTP SDK `putFile` (one streamed request)', 'http', 'big', await timed(d, () => client.putFile(REPO, 'master', '/big', createReadStream(src))));
        } finally {
          await client.close();
        }
        await check(d, 'HTTP big', undefined, bytes);
      });
      await onFreshDaemon(ctx, `grpc-big-${round}`, async (d) => {
        add('gRPC ModifyFile, 19 MiB `add_file` messages (grpc-js)', 'grpc', 'big', await timed(d, () => modifyFile(d.address, bigFileMessages(src))));
        await check(d, 'gRPC big', undefined, bytes);
      });
      if (pyPath !== undefined && round === 1) {
        await onFreshDaemon(ctx, 'python-big', async (d) => {
          add('python-pachyderm 7.6 `put_file_bytes(c, "/big", f)`', 'python', 'big', await timed(d, () => python(pyPath, PY_BIG, [d.address, src])));
          await check(d, 'python big', undefined, bytes);
        });
      }
      ctx.log(`round ${round}: ${fmtInt(n)} small files`);
      await onFreshDaemon(ctx, `http-small-${round}`, async (d) => {
        const client = new Client({ address: d.address });
        try {
          add('HTTP SDK: one upload, one streamed tar, commit', 'http', 'small', await timed(d, async () => {
            const up = await client.createUpload();
            await up.putTar('/', generateTar(0, n, (i) => smallFile(pool, i)));
            await up.commit(REPO, 'master');
          }));
        } finally {
          await client.close();
        }
        await check(d, 'HTTP small', n, undefined);
      });
      await onFreshDaemon(ctx, `grpc-small-${round}`, async (d) => {
        add('gRPC ModifyFile, `delete_file` + `add_file` per file (grpc-js)', 'grpc', 'small', await timed(d, () => modifyFile(d.address, smallFileMessages(pool, n))));
        await check(d, 'gRPC small', n, undefined);
      });
      if (pyPath !== undefined && round === 1) {
        await onFreshDaemon(ctx, 'python-small', async (d) => {
          add('python-pachyderm 7.6 `modify_file_client`, `put_file_from_bytes` per file', 'python', 'small', await timed(d, () => python(pyPath, PY_SMALL, [d.address, poolPath, String(n)])));
          await check(d, 'python small', n, undefined);
        });
      }
    }

    const best = (side: Row['side'], load: Row['load']): number => Math.min(...rows.filter((r) => r.side === side && r.load === load).map((r) => r.ms));
    const perLoad = (load: Row['load'], unit: (ms: number) => string): string[][] => {
      const http = best('http', load);
      return rows.filter((r) => r.load === load).map((r) => [r.what, fmtDuration(r.ms), unit(r.ms), r.side === 'http' ? '' : `${fmt(r.ms / http, 2)}`, fmtDuration(r.daemonCpuMs)]);
    };
    const bigTable = table(['1 GiB as one file', 'time', 'MB/s', 'time / best HTTP', 'daemon CPU'], perLoad('big', (ms) => fmt(mbPerSec(bytes, ms), 0)));
    const smallTable = table([`${fmtInt(n)} files of 1 KiB`, 'time', 'files/s', 'time / best HTTP', 'daemon CPU'], perLoad('small', (ms) => fmtInt(Math.round(n / (ms / 1000)))));
    const ratioBig = best('grpc', 'big') / best('http', 'big');
    const ratioSmall = best('grpc', 'small') / best('http', 'small');
    const verdict = (r: number): string => `${fmt(r, 2)} (${r <= 1.2 ? 'met' : '**not met**'})`;
    const pyLine = pyPath === undefined ? [] : ['', `python-pachyderm time over HTTP time (goal <= 1.2): 1 GiB ${verdict(best('python', 'big') / best('http', 'big'))}, ${fmtInt(n)} small files ${verdict(best('python', 'small') / best('http', 'small'))}.`];
    const markdown = [
      `Two rounds, each on fresh daemons (one per row, so no side finds the other's chunks); the best of each side is compared. Times from the first byte sent to the reply (a commit holding all the data). The client runs in the benchmark process (grpc-js from the project's protos, the HTTP SDK)${pyPath !== undefined ? '; python-pachyderm runs as its own process (interpreter start-up included), one round' : ''}.`,
      '',
      bigTable,
      '',
      smallTable,
      '',
      `gRPC (grpc-js) time over HTTP time (best of each; goal <= 1.2): 1 GiB ${verdict(ratioBig)}, ${fmtInt(n)} small files ${verdict(ratioSmall)}.`,
      ...pyLine,
    ].join('\n');
    return { markdown, fullSize: bytes === GIB && n === 100_000 };
  },
};
