/**
 * s3-put-get: one 1 GiB file put and read back through the SDK, by a daemon whose objects are in
 * a local folder (the default) and by one whose objects are in an S3 bucket (`--objects
 * s3://...`), on the same machine. The S3 server is s3rver (npm; a real S3 HTTP server that keeps
 * objects as plain files, without fsync), in a process of its own on 127.0.0.1: the figures show
 * what the S3 path costs in this code (HTTP, SigV4 signing, 8 MiB multipart parts, one ranged GET
 * per chunk on the way back), not what AWS S3 over a network would give.
 *
 * Size: PUT_GET_BYTES (default 1 GiB).
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Client } from '../src/client/index.js';
import { envInt, type Benchmark } from './lib/bench.js';
import { assertSameFile, duBytes, syncAll, writeRandomFile } from './lib/files.js';
import { table } from './lib/report.js';
import { fmt, fmtBytes, fmtDuration, mbPerSec, msSince } from './lib/stats.js';

const GIB = 1024 * 1024 * 1024;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  await syncAll();
  const start = process.hrtime.bigint();
  await fn();
  return msSince(start);
}

async function startS3rver(dir: string): Promise<{ endpoint: string; bucket: string; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [new URL('./lib/s3-server-main.js', import.meta.url).pathname, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out);
    });
    proc.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  const m = /listening on (\S+) bucket (\S+)/.exec(line);
  if (m === null) throw new Error(`unexpected s3rver output: ${line}`);
  return {
    endpoint: m[1]!,
    bucket: m[2]!,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

export const s3PutGet: Benchmark = {
  name: 's3-put-get',
  heading: '8. s3-put-get: put and get 1 GiB through the S3 object store and the local folder',
  minFreeBytes: 5 * GIB,
  async run(ctx) {
    const bytes = envInt('PUT_GET_BYTES', GIB);
    const src = join(ctx.dir, 'source.bin');
    ctx.log(`writing ${fmtBytes(bytes)} of random bytes`);
    await writeRandomFile(src, bytes);
    const s3dir = join(ctx.dir, 's3rver');
    await mkdir(s3dir, { recursive: true });
    const s3 = await startS3rver(s3dir);
    const rows: string[][] = [];
    try {
      const backends: Array<{ label: string; args: string[]; env?: Record<string, string>; usage: (dataDir: string) => Promise<number> }> = [
        { label: 'local folder (default)', args: [], usage: (d) => duBytes(join(d, 'objects')) },
        {
          label: 'S3 (s3rver on 127.0.0.1)',
          args: ['--objects', `s3://${s3.bucket}/bench/`],
          env: { AWS_ENDPOINT_URL: s3.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_S3_FORCE_PATH_STYLE: 'true' },
          usage: () => duBytes(s3dir),
        },
      ];
      for (const b of backends) {
        const d = await ctx.startDaemon(b.label.startsWith('S3') ? 's3' : 'fs', undefined, { args: b.args, ...(b.env !== undefined ? { env: b.env } : {}) });
        const client = new Client({ address: d.address });
        const out = join(ctx.dir, 'get.bin');
        try {
          await client.createRepo('bench');
          ctx.log(`${b.label}: put`);
          const cpu0 = d.cpuMs();
          const put = await timed(() => client.putFile('bench', 'master', '/big', createReadStream(src)));
          const putCpu = d.cpuMs() - cpu0;
          ctx.log(`${b.label}: get`);
          const cpu1 = d.cpuMs();
          const get = await timed(async () => pipeline(await client.getFile('bench', 'master', '/big'), createWriteStream(out)));
          const getCpu = d.cpuMs() - cpu1;
          await assertSameFile(src, out);
          await rm(out);
          rows.push([b.label, fmtDuration(put), fmt(mbPerSec(bytes, put), 0), fmtDuration(putCpu), fmtDuration(get), fmt(mbPerSec(bytes, get), 0), fmtDuration(getCpu), fmtBytes(await b.usage(d.dataDir)), fmt(d.peakRssBytes() / 1e6, 0)]);
        } finally {
          await client.close();
          await ctx.stopDaemon(d);
        }
      }
    } finally {
      await s3.stop();
    }
    const markdown = [
      `${fmtBytes(bytes)} of random bytes, SDK \`putFile\` from a file stream and \`getFile\` piped to a file; MB/s are 10^6 bytes per second. The S3 server is s3rver in its own process on the same machine (it writes objects as plain files and does not fsync; the local folder fsyncs each pack before the commit).`,
      '',
      table(['objects in', 'put', 'put MB/s', 'daemon CPU (put)', 'get', 'get MB/s', 'daemon CPU (get)', 'stored', 'daemon peak RSS MB'], rows),
    ].join('\n');
    return { markdown, fullSize: bytes === GIB };
  },
};
