/**
 * `daemon [--data-dir DIR] [--port N] [--host H] [--log]`: runs the daemon in this process.
 *
 * This is the one command that imports server code (lazily): `sluice daemon` is the same binary in
 * another role (DESIGN.md, "one binary, several roles"), not a client. Flags win over
 * `SLUICE_DATA_DIR` (default `./.sluice-data`), `SLUICE_PORT` (default 30650, 0 picks a free
 * port), `SLUICE_HOST` (default 127.0.0.1) and `SLUICE_METADATA` (`sqlite`, the default, or a
 * `postgres://` URL), `SLUICE_OBJECTS` (a folder or `s3://BUCKET/PREFIX`, default `<data-dir>/objects`),
 * `SLUICE_GC_INTERVAL` and `SLUICE_GC_GRACE` (durations) and `SLUICE_METRICS_AUTH`
 * (`--metrics-auth token|none`: whether `GET /metrics` needs a token while auth is active; default
 * `token`). When it is serving it prints one line to stderr,
 * with the port actually bound:
 *
 *     sluice daemon listening on http://HOST:PORT (data: DIR)
 *
 * SIGINT/SIGTERM close it gracefully (in-flight requests finish) and the command returns, so
 * main exits 0; a second signal leaves at once.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';

interface Options {
  dataDir?: string;
  port?: string;
  host?: string;
  log?: boolean;
  metadata?: string;
  metricsAuth?: string;
  objects?: string;
  gcInterval?: string;
  gcGrace?: string;
}

/** `90s`, `15m`, `1h30m`, `500ms`; `0` is off. */
function parseInterval(value: string, from: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (value === '0') return 0;
  let total = 0;
  let at = 0;
  while (at < value.length) {
    re.lastIndex = at;
    const m = re.exec(value);
    if (m === null) throw new SluiceError('INVALID_ARGUMENT', `invalid duration ${JSON.stringify(value)} (from ${from}): expected e.g. 90s, 15m, 1h30m, or 0`);
    total += Number(m[1]) * (unit[m[2] as string] ?? 0);
    at = re.lastIndex;
  }
  if (value === '') throw new SluiceError('INVALID_ARGUMENT', `empty duration (from ${from})`);
  return Math.round(total);
}

function parsePort(value: string, from: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new SluiceError('INVALID_ARGUMENT', `invalid port ${JSON.stringify(value)} (from ${from}): expected 0-65535`);
  return Number(value);
}

function parseMetricsAuth(value: string, from: string): 'none' | 'token' {
  if (value === 'none' || value === 'token') return value;
  throw new SluiceError('INVALID_ARGUMENT', `invalid metrics auth ${JSON.stringify(value)} (from ${from}): use "token" (a token while auth is active) or "none" (open)`);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

export function registerDaemon(program: Command, ctx: CliContext): void {
  subcommand(program, ['daemon'], 'Run the Sluice daemon (HTTP API on SQLite and a local object folder).')
    .option('--data-dir <dir>', 'data directory (env SLUICE_DATA_DIR, default ./.sluice-data)')
    .option('--port <n>', 'port to listen on; 0 picks a free one (env SLUICE_PORT, default 30650)')
    .option('--host <host>', 'address to listen on (env SLUICE_HOST, default 127.0.0.1)')
    .option('--log', 'log requests to stderr')
    .option('--metadata <store>', 'metadata store: sqlite (default, <data-dir>/meta.db) or a postgres://user@host:port/db?schema=name URL (env SLUICE_METADATA)')
    .option('--metrics-auth <mode>', 'GET /metrics: token (default; a user or robot token while auth is active) or none (open) (env SLUICE_METRICS_AUTH)')
    .option('--objects <store>', 'object store: a folder (default <data-dir>/objects) or s3://BUCKET/PREFIX[?endpoint=URL&region=R&path-style=true] (env SLUICE_OBJECTS; AWS_* variables as for the AWS SDK)')
    .option('--gc-interval <duration>', 'collect garbage every DURATION, e.g. 1h (env SLUICE_GC_INTERVAL; default 0: only on `sluice gc`)')
    .option('--gc-grace <duration>', 'leave unrecorded packs younger than this alone (env SLUICE_GC_GRACE; default 15m)')
    .action(async (opts: Options) => {
      const dataDir = resolve(opts.dataDir ?? nonEmpty(ctx.env.SLUICE_DATA_DIR) ?? './.sluice-data');
      const port = opts.port !== undefined ? parsePort(opts.port, '--port') : nonEmpty(ctx.env.SLUICE_PORT) !== undefined ? parsePort(ctx.env.SLUICE_PORT ?? '', 'SLUICE_PORT') : 30650;
      const host = opts.host ?? nonEmpty(ctx.env.SLUICE_HOST) ?? '127.0.0.1';
      const metricsAuthText = opts.metricsAuth ?? nonEmpty(ctx.env.SLUICE_METRICS_AUTH);
      const metricsAuth = metricsAuthText === undefined ? 'token' : parseMetricsAuth(metricsAuthText, opts.metricsAuth !== undefined ? '--metrics-auth' : 'SLUICE_METRICS_AUTH');
      const { signal, release } = ctx.interruptible();
      try {
        // Loaded on demand: client commands should not pay for the server's start-up.
        const { startDaemon } = await import('../../server/daemon.js');
        const metadata = opts.metadata ?? nonEmpty(ctx.env.SLUICE_METADATA);
        const objects = opts.objects ?? nonEmpty(ctx.env.SLUICE_OBJECTS);
        const interval = opts.gcInterval ?? nonEmpty(ctx.env.SLUICE_GC_INTERVAL);
        const grace = opts.gcGrace ?? nonEmpty(ctx.env.SLUICE_GC_GRACE);
        const daemon = await startDaemon({
          dataDir, host, port, logger: opts.log === true, metricsAuth,
          ...(metadata !== undefined ? { metadata } : {}),
          ...(objects !== undefined ? { objects } : {}),
          ...(interval !== undefined ? { gcIntervalMs: parseInterval(interval, opts.gcInterval !== undefined ? '--gc-interval' : 'SLUICE_GC_INTERVAL') } : {}),
          ...(grace !== undefined ? { gcGraceMs: parseInterval(grace, opts.gcGrace !== undefined ? '--gc-grace' : 'SLUICE_GC_GRACE') } : {}),
        });
        ctx.err(`sluice daemon listening on http://${daemon.address} (data: ${dataDir})\n`);
        if (!signal.aborted) await new Promise<void>((done) => signal.addEventListener('abort', () => done(), { once: true }));
        await daemon.close();
      } finally {
        release();
      }
    });
}
