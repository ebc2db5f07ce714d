import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatSeconds, isTerminal, Spinner, TransferProgress } from './progress.js';

class FakeTty {
  readonly isTTY = true;
  columns = 100;
  text = '';
  write(s: string): boolean {
    this.text += s;
    return true;
  }
  /** The frames drawn, escape codes removed. */
  frames(): string[] {
    return this.text.split('\r').map((f) => f.replace(/\x1b\[K/g, '')).filter((f) => f !== '');
  }
}

describe('progress', () => {
  it('formats sizes in binary units and durations in s, m, h', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(25 * 1024 * 1024), '25.0 MiB');
    assert.equal(formatBytes(300 * 1024 ** 3), '300 GiB');
    assert.equal(formatSeconds(4.4), '4s');
    assert.equal(formatSeconds(75), '1m15s');
    assert.equal(formatSeconds(3 * 3600 + 120), '3h02m');
  });

  it('tells a terminal from a pipe or file', () => {
    assert.equal(isTerminal(new FakeTty()), true);
    assert.equal(isTerminal({ write: () => true }), false);
    assert.equal(isTerminal(undefined), false);
  });

  it('draws bytes, files, rate and ETA, and leaves the last line with a newline', () => {
    let now = 1_000_000;
    const out = new FakeTty();
    const bar = new TransferProgress(out, { bytes: 4 * 1024 * 1024, files: 4 }, { label: 'put file', now: () => now, intervalMs: 60_000 }).start();
    now += 1000;
    bar.addBytes(1024 * 1024);
    bar.fileDone();
    now += 1000;
    bar.addBytes(1024 * 1024);
    bar.fileDone();
    bar.finish();
    const frames = out.frames();
    assert.match(frames[0]!, /^put file \[>\s+\]\s+0%  0 B\/4.00 MiB  0\/4 files  0 B\/s  0s$/);
    // 2 MiB in 2 s: 1 MiB/s, 2 MiB to go, 2 s left.
    assert.match(frames[1]!, /^put file \[=+>\s+\]  50%  2.00 MiB\/4.00 MiB  2\/4 files  1.00 MiB\/s  ETA 2s\n$/);
    assert.ok(out.text.endsWith('\n'));
    bar.finish();
    assert.equal(out.frames().length, 2, 'finishing twice draws nothing more');
  });

  it('keeps the line within the terminal width', () => {
    const out = new FakeTty();
    out.columns = 40;
    new TransferProgress(out, { bytes: 10, files: 1 }, { label: 'put file', intervalMs: 60_000 }).start().finish();
    for (const f of out.frames()) assert.ok(f.replace('\n', '').length <= 39, f);
  });

  it('shows what has gone and the rate when the total is unknown', () => {
    const out = new FakeTty();
    const bar = new TransferProgress(out, {}, { intervalMs: 60_000, now: () => 0 }).start();
    bar.addBytes(2048);
    bar.finish();
    assert.match(out.frames().at(-1)!, /^2.00 KiB  0 files  0 B\/s  0s\n$/);
  });

  it('spins with the time elapsed and erases its line when stopped', () => {
    let now = 0;
    const out = new FakeTty();
    const s = new Spinner(out, 'waiting for commit a@master', { now: () => now, intervalMs: 60_000 }).start();
    now = 12_000;
    s.update('waiting for job p@1: running, 1/3 datums');
    s.stop();
    assert.match(out.text, /^\r. waiting for commit a@master  0s\x1b\[K\r\x1b\[K$/);
    s.stop();
    assert.ok(out.text.endsWith('\r\x1b[K'));
  });
});
