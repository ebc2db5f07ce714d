import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detailBlock, formatTable, humanDuration, humanSize, rawLine, rawPretty, relativeTime, TabWriter } from './output.js';

function collect(): { sink: (s: string) => void; text: () => string } {
  let buf = '';
  return { sink: (s) => (buf += s), text: () => buf };
}

describe('humanSize', () => {
  it('prints bytes as go-units BytesSize does', () => {
    const cases: Array<[number, string]> = [
      [0, '0B'],
      [1, '1B'],
      [672, '672B'],
      [1023, '1023B'],
      [1024, '1KiB'],
      [1536, '1.5KiB'],
      [10_485, '10.24KiB'],
      [1_000_000, '976.6KiB'],
      [1024 * 1024 - 1, '1024KiB'],
      [1024 * 1024, '1MiB'],
      [13.2 * 1024 * 1024, '13.2MiB'],
      [20_000_000, '19.07MiB'],
      [1024 ** 3, '1GiB'],
      [5.5 * 1024 ** 4, '5.5TiB'],
    ];
    for (const [n, want] of cases) assert.equal(humanSize(n), want, `humanSize(${n})`);
  });
});

describe('relativeTime', () => {
  const now = 1_700_000_000_000;
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;

  it('follows go-units HumanDuration at each boundary', () => {
    const cases: Array<[number, string]> = [
      [0, 'Less than a second'],
      [999, 'Less than a second'],
      [-5 * s, 'Less than a second'],
      [1 * s, '1 second'],
      [59 * s, '59 seconds'],
      [60 * s, 'About a minute'],
      [119 * s, 'About a minute'],
      [2 * m, '2 minutes'],
      [59 * m, '59 minutes'],
      [60 * m, 'About an hour'],
      [89 * m, 'About an hour'],
      [90 * m, '2 hours'],
      [47 * h, '47 hours'],
      [48 * h, '2 days'],
      [13 * d, '13 days'],
      [14 * d, '2 weeks'],
      [59 * d, '8 weeks'],
      [60 * d, '2 months'],
      [729 * d, '24 months'],
      [730 * d, '2 years'],
    ];
    for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `humanDuration(${ms})`);
  });

  it('appends " ago" to the duration since the time', () => {
    assert.equal(relativeTime(now - 2 * m, now), '2 minutes ago');
    assert.equal(relativeTime(now - 3 * d, now), '3 days ago');
    assert.equal(relativeTime(now, now), 'Less than a second ago');
  });
});

describe('formatTable', () => {
  it('pads every column but the last to its widest cell plus one space', () => {
    const text = formatTable([
      ['NAME', 'TYPE', 'SIZE'],
      ['/a.txt', 'file', '1.5KiB'],
      ['/dir/', 'dir', '0B'],
    ]);
    assert.equal(text, 'NAME   TYPE SIZE\n/a.txt file 1.5KiB\n/dir/  dir  0B\n');
  });

  it('leaves no trailing spaces when the last cells are empty', () => {
    assert.equal(formatTable([['A', 'B'], ['long-value', '']]), 'A          B\nlong-value\n');
  });

  it('sizes a column by the run of lines that have it, as Go tabwriter does', () => {
    // The middle line has a single cell, which ends the first column block.
    const text = formatTable([['a', 'b'], ['x'], ['longer', 'c']]);
    assert.equal(text, 'a b\nx\nlonger c\n');
  });

  it('counts characters, not bytes', () => {
    assert.equal(formatTable([['≤ 1B', 'x'], ['abcde', 'y']]), '≤ 1B  x\nabcde y\n');
  });

  it('honours minimum widths', () => {
    assert.equal(formatTable([['A', 'B']], [5]), 'A    B\n');
  });
});

describe('TabWriter', () => {
  it('prints the header first and aligns rows with it', () => {
    const out = collect();
    const w = new TabWriter(out.sink, ['REPO', 'BRANCH']);
    w.row(['images', 'master']);
    w.flush();
    assert.equal(out.text(), 'REPO   BRANCH\nimages master\n');
  });

  it('reprints the header every 50 lines', () => {
    const out = collect();
    const w = new TabWriter(out.sink, ['N', 'X']);
    for (let i = 0; i < 120; i++) w.row([String(i), 'x']);
    w.flush();
    const lines = out.text().trimEnd().split('\n');
    assert.equal(lines.length, 120 + 3);
    // Each block of 50 lines is aligned on its own: rows 98-119 include "100".
    assert.deepEqual([0, 50, 100].map((i) => lines[i]), ['N  X', 'N  X', 'N   X']);
    assert.equal(lines[1], '0  x');
    assert.equal(lines[101], '98  x');
  });

  it('replaces tabs and newlines inside cells', () => {
    const out = collect();
    const w = new TabWriter(out.sink, ['A', 'DESCRIPTION']);
    w.row(['x', 'two\nlines\tand a tab']);
    w.flush();
    assert.equal(out.text(), 'A DESCRIPTION\nx two lines and a tab\n');
  });

  it('writes nothing more on a second flush', () => {
    const out = collect();
    const w = new TabWriter(out.sink, ['A']);
    w.flush();
    w.flush();
    assert.equal(out.text(), 'A\n');
  });
});

describe('raw output', () => {
  it('prints one JSON object per line for lists and indented JSON for one object', () => {
    assert.equal(rawLine({ a: 1, b: 'x' }), '{"a":1,"b":"x"}\n');
    assert.equal(rawPretty({ a: 1 }), '{\n  "a": 1\n}\n');
  });
});

describe('detailBlock', () => {
  it('prints key: value lines and leaves out undefined values', () => {
    assert.equal(detailBlock([['Name', 'x'], ['Description', undefined], ['Size', '0B']]), 'Name: x\nSize: 0B\n');
  });
});
