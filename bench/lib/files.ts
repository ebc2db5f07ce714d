/**
 * Test data on disk, and the disk-side helpers the comparisons need: random files written in
 * large blocks, `sync` (whole system, so one measurement does not pay for the write-back of the
 * previous one), byte-for-byte comparison and folder sizes.
 */
import { randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { run } from './exec.js';

/** Writes `bytes` random bytes to `path` (4 MiB at a time). */
export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const block = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let done = 0; done < bytes; ) {
      const n = Math.min(block.length, bytes - done);
      randomFillSync(block, 0, n);
      await fh.write(block, 0, n);
      done += n;
    }
  } finally {
    await fh.close();
  }
}

/** Flushes every dirty page of the system to disk. */
export async function syncAll(): Promise<void> {
  await run('sync', []);
}

/** Throws unless the two files have the same bytes. */
export async function assertSameFile(a: string, b: string): Promise<void> {
  await run('cmp', ['--silent', a, b]).catch(() => {
    throw new Error(`${b} differs from ${a}`);
  });
}

/** Disk usage of a folder in bytes (`du -sb`). */
export async function duBytes(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', dir]);
  return Number(stdout.split(/\s/)[0]);
}
