/**
 * Small statistics and formatting helpers shared by the benchmarks: percentiles of latency
 * samples (nearest rank, so p99 of 1,000 samples is the 990th smallest), rates and sizes.
 */

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The nearest-rank percentile `p` (0-100) of `sorted` (ascending). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, x) => s + x, 0);
  return {
    count: sorted.length,
    mean: sum / Math.max(1, sorted.length),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Milliseconds since `start` (a `process.hrtime.bigint()` reading). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Fixed decimals, with thousands separators for large numbers. */
export function fmt(x: number, decimals = 1): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export function fmtInt(x: number): string {
  return fmt(x, 0);
}

/** Bytes per second in MB/s (10^6 bytes). */
export function mbPerSec(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${fmt(v, u === 0 ? 0 : 1)} ${units[u]}`;
}

/** Bytes in MB (10^6), as memory goals are stated. */
export function fmtMB(n: number): string {
  return `${fmt(n / 1e6, 0)} MB`;
}

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${fmt(ms, 1)} ms`;
  if (ms < 120_000) return `${fmt(ms / 1000, 2)} s`;
  return `${fmt(ms / 60_000, 1)} min`;
}

/** "0.71x" style ratio. */
export function ratio(a: number, b: number): string {
  return `${fmt(a / b, 2)}x`;
}
