/**
 * connectors: connector spouts (issue 12), broker -> commits, beside a bare consumer of the same
 * broker in the same run. For each exactly-once source (Redis Streams, NATS JetStream, a
 * RabbitMQ stream queue):
 *
 * 1. Throughput: CONNECTOR_MESSAGES (default 20,000) messages of 1 KiB are published first; a
 *    bare client (ioredis `XREAD COUNT 1000`, a JetStream ordered consumer, an amqplib consumer
 *    with prefetch 2,000) reads them all: messages/s. Then a connector spout (batches of 1,000,
 *    `max_delay` 200ms) commits them: messages/s from its first commit's `finished` to its last
 *    (the first batch is not counted), and the ratio to the bare consumer (goal: >= 0.5x).
 * 2. Latency: CONNECTOR_LATENCY (default 2,000) messages published at about 1,000/s to a fresh
 *    stream read by a fresh spout; for each message, publish (wall clock, ms) -> the `finished`
 *    time of the commit that holds it: p50/p99 (goal: p99 under 50 ms).
 *
 * MQTT and AMQP classic queues are left out: they acknowledge after the commit (so a bare
 * consumer that acks at once is not the same work), and Mosquitto keeps only 1,000 queued
 * messages for a session, so messages cannot be published ahead of the consumer.
 */
import { connect as natsConnect } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import * as amqp from 'amqplib';
import { Redis } from 'ioredis';
import { Client } from '../src/client/index.js';
import { envInt, type Benchmark } from './lib/bench.js';
import { table } from './lib/report.js';
import { fmt, fmtInt, summarize, type LatencySummary } from './lib/stats.js';

const SIZE = 1024;
const BATCH = 1000;

interface Source {
  name: string;
  /** A fresh stream; returns its handle for the other calls. */
  create(tag: string): Promise<string>;
  /** Publishes message n; returns its file name in the spout's repo. */
  publish(stream: string, n: number, body: Buffer): Promise<string>;
  /** Reads `count` messages from the start with the plain client; ms taken. */
  bare(stream: string, count: number): Promise<number>;
  spout(stream: string): Record<string, unknown>;
  drop(stream: string): Promise<void>;
  close(): Promise<void>;
}

const pad = (n: number | string): string => String(n).padStart(20, '0');

async function redisSource(): Promise<Source> {
  const url = process.env.SLUICE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
  const r = new Redis(url);
  return {
    name: 'redis_streams',
    async create(tag) {
      return `sluice-bench-${tag}-${Date.now()}`;
    },
    async publish(stream, _n, body) {
      const id = (await r.xadd(stream, '*', 'body', body))!;
      const [ms, seq] = id.split('-');
      return `${pad(ms!)}-${pad(seq!)}`;
    },
    async bare(stream, count) {
      const c = new Redis(url);
      const t = performance.now();
      let last = '0-0';
      let got = 0;
      while (got < count) {
        const res = (await c.xreadBuffer('COUNT', 1000, 'STREAMS', stream, last)) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        const entries = res?.[0]?.[1] ?? [];
        got += entries.length;
        last = entries.at(-1)?.[0].toString() ?? last;
      }
      const ms = performance.now() - t;
      c.disconnect();
      return ms;
    },
    spout: (stream) => ({ redis_streams: { url, stream } }),
    async drop(stream) {
      await r.del(stream);
    },
    async close() {
      r.disconnect();
    },
  };
}

async function natsSource(): Promise<Source> {
  const server = process.env.SLUICE_TEST_NATS ?? '127.0.0.1:4222';
  const nc = await natsConnect({ servers: server });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  return {
    name: 'nats_jetstream',
    async create(tag) {
      const name = `sluice_bench_${tag}_${Date.now()}`;
      await jsm.streams.add({ name, subjects: [`${name}.>`] });
      return name;
    },
    async publish(stream, _n, body) {
      const ack = await js.publish(`${stream}.x`, body);
      return pad(ack.seq);
    },
    async bare(stream, count) {
      const t = performance.now();
      const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
      const msgs = await consumer.consume({ max_messages: BATCH });
      let got = 0;
      for await (const _m of msgs) if (++got >= count) break;
      const ms = performance.now() - t;
      msgs.stop();
      return ms;
    },
    spout: (stream) => ({ nats_jetstream: { url: `nats://${server}`, stream } }),
    async drop(stream) {
      await jsm.streams.delete(stream).catch(() => undefined);
    },
    async close() {
      await nc.close();
    },
  };
}

async function amqpSource(): Promise<Source> {
  const url = process.env.SLUICE_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  const pending: Promise<void>[] = [];
  return {
    name: 'amqp (stream queue)',
    async create(tag) {
      const q = `sluice-bench-${tag}-${Date.now()}`;
      await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
      return q;
    },
    async publish(q, n, body) {
      pending.push(new Promise((resolve, reject) => {
        ch.sendToQueue(q, body, { persistent: true }, (err) => (err ? reject(err as Error) : resolve()));
      }));
      if (pending.length >= 100) await Promise.all(pending.splice(0));
      return pad(n); // a fresh stream's offsets are 0, 1, 2, …
    },
    async bare(q, count) {
      await Promise.all(pending.splice(0));
      const c = await amqp.connect(url);
      const cch = await c.createChannel();
      await cch.prefetch(2 * BATCH);
      const t = performance.now();
      await new Promise<void>((resolve) => {
        let got = 0;
        void cch.consume(q, (m) => {
          if (m === null) return;
          got++;
          if (got % BATCH === 0 || got === count) cch.ack(m, true);
          if (got === count) resolve();
        }, { arguments: { 'x-stream-offset': 'first' } });
      });
      const ms = performance.now() - t;
      await c.close();
      return ms;
    },
    spout: (q) => ({ amqp: { url, queue: q, queue_type: 'stream' } }),
    async drop(q) {
      await ch.deleteQueue(q).catch(() => undefined);
    },
    async close() {
      await Promise.all(pending.splice(0));
      await conn.close();
    },
  };
}

function body(n: number, ms = Date.now()): Buffer {
  const head = `${n} ${ms} `;
  return Buffer.concat([Buffer.from(head), Buffer.alloc(SIZE - head.length, 0x78)]);
}

async function waitFiles(c: Client, repo: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await c.getFileBuffer(repo, 'marker', '/position').catch(() => undefined);
    if (m !== undefined) {
      const files = (await c.inspectCommit(repo, 'master')).sizeBytes;
      if (files >= count * SIZE) return;
    }
    if (Date.now() > deadline) throw new Error(`${repo}: not all ${count} messages committed in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Row {
  source: string;
  bare: number;
  spout: number;
  commits: number;
  latency: LatencySummary;
}

export const connectors: Benchmark = {
  name: 'connectors',
  heading: '8. connectors: broker -> commits (connector spouts), beside a bare consumer',
  minFreeBytes: 1024 * 1024 * 1024,
  async run(ctx) {
    const total = envInt('CONNECTOR_MESSAGES', 20_000);
    const nLat = envInt('CONNECTOR_LATENCY', 2_000);
    const d = await ctx.startDaemon('connectors');
    const c = new Client({ address: d.address });
    const rows: Row[] = [];
    try {
      for (const make of [redisSource, natsSource, amqpSource]) {
        const src = await make();
        const slug = src.name.replace(/[^a-z]/g, '');
        try {
          ctx.log(`${src.name}: publishing ${total} messages`);
          const stream = await src.create('tp');
          for (let n = 0; n < total; n++) await src.publish(stream, n, body(n));
          const bareMs = await src.bare(stream, total);
          ctx.log(`${src.name}: bare consumer ${fmtInt((total / bareMs) * 1000)} msg/s; now the spout`);
          const name = `tp-${slug}`;
          await c.createPipeline(JSON.stringify({ pipeline: { name }, spout: { connector: src.spout(stream), batch: { max_messages: BATCH, max_delay: '200ms' } } }));
          await waitFiles(c, name, total, 300_000);
          const commits = (await c.listCommits(name, { branch: 'master' })).sort((a, b) => a.finished! - b.finished!);
          const first = commits[0]!;
          const last = commits.at(-1)!;
          const counted = total - first.sizeBytes / SIZE;
          const spoutRate = (counted / (last.finished! - first.finished!)) * 1000;
          await c.deletePipeline(name);
          await src.drop(stream);

          ctx.log(`${src.name}: latency, ${nLat} messages at ~1,000/s`);
          const lstream = await src.create('lat');
          const lname = `lat-${slug}`;
          await c.createPipeline(JSON.stringify({ pipeline: { name: lname }, spout: { connector: src.spout(lstream), batch: { max_messages: BATCH, max_delay: '200ms' } } }));
          // One message first, so the spout is up before the measured ones.
          await src.publish(lstream, 0, body(0));
          await waitFiles(c, lname, 1, 60_000);
          const sent = new Map<string, number>();
          const start = performance.now();
          for (let n = 1; n <= nLat; n++) {
            const t = Date.now();
            sent.set(await src.publish(lstream, n, body(n, t)), t);
            const ahead = n - (performance.now() - start); // 1 message per ms
            if (ahead > 5) await new Promise((r) => setTimeout(r, ahead));
          }
          await waitFiles(c, lname, nLat + 1, 120_000);
          const lc = (await c.listCommits(lname, { branch: 'master' })).sort((a, b) => a.finished! - b.finished!);
          const seen = new Set<string>();
          const samples: number[] = [];
          for (const commit of lc) {
            for (const f of await c.listFile(lname, commit.id, '/')) {
              if (seen.has(f.path)) continue;
              seen.add(f.path);
              const t = sent.get(f.path.slice(1));
              if (t !== undefined) samples.push(commit.finished! - t);
            }
          }
          await c.deletePipeline(lname);
          await src.drop(lstream);
          rows.push({ source: src.name, bare: (total / bareMs) * 1000, spout: spoutRate, commits: commits.length, latency: summarize(samples) });
        } finally {
          await src.close();
        }
      }
    } finally {
      await c.close();
      await ctx.stopDaemon(d);
    }
    const markdown = [
      `Throughput: ${fmtInt(total)} messages of 1 KiB published first, then read by a bare client and by a connector spout (batches of ${BATCH}, \`max_delay\` 200ms).`,
      '',
      table(['source', 'bare consumer msg/s', 'spout msg/s (broker -> commits)', 'ratio', 'commits'],
        rows.map((r) => [r.source, fmtInt(r.bare), fmtInt(r.spout), `${fmt(r.spout / r.bare, 2)}x`, fmtInt(r.commits)]), ['l', 'r', 'r', 'r', 'r']),
      '',
      `Latency: ${fmtInt(nLat)} messages at about 1,000/s, publish -> the commit that holds it is finished (ms).`,
      '',
      table(['source', 'p50', 'p90', 'p99', 'max'],
        rows.map((r) => [r.source, fmt(r.latency.p50, 0), fmt(r.latency.p90, 0), fmt(r.latency.p99, 0), fmt(r.latency.max, 0)]), ['l', 'r', 'r', 'r', 'r']),
    ].join('\n');
    return { markdown, fullSize: total === 20_000 && nLat === 2_000 };
  },
};
