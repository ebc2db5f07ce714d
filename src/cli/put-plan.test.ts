import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSluiceError } from '../client/index.js';
import { joinPfs, planPut, splitBySize, type PutItem, type PutPlanInput } from './put-plan.js';

function input(over: Partial<PutPlanInput>): PutPlanInput {
  return { sources: ['-'], path: undefined, recursive: false, untar: false, fullPath: false, ...over };
}

function targets(items: PutItem[]): string[] {
  return items.map((i) => (i.kind === 'tar' ? `tar:${i.dir}` : i.target));
}

describe('planPut', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-put-plan-'));
    await mkdir(join(dir, 'data', 'sub'), { recursive: true });
    await writeFile(join(dir, 'data', 'a.txt'), 'aaa');
    await writeFile(join(dir, 'data', 'sub', 'b.txt'), 'bb');
    await writeFile(join(dir, 'data', 'pack.tar'), 'not really');
    await writeFile(join(dir, 'one.txt'), 'x');
    await symlink(join(dir, 'data'), join(dir, 'data', 'loop'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('puts a file at /<basename> when no path is given', async () => {
    const items = await planPut(input({ sources: [join(dir, 'one.txt')] }));
    assert.deepEqual(items, [{ kind: 'file', source: join(dir, 'one.txt'), target: '/one.txt', size: 1 }]);
  });

  it('keeps the whole source path with --full-path', async () => {
    const items = await planPut(input({ sources: [join(dir, 'one.txt')], fullPath: true }));
    assert.deepEqual(targets(items), [joinPfs(dir, 'one.txt')]);
  });

  it('puts a single source at the given path', async () => {
    const items = await planPut(input({ sources: [join(dir, 'one.txt')], path: '/x/y.txt' }));
    assert.deepEqual(targets(items), ['/x/y.txt']);
  });

  it('treats the path as a directory prefix for several sources', async () => {
    const items = await planPut(input({ sources: [join(dir, 'one.txt'), join(dir, 'data', 'a.txt')], path: '/in' }));
    assert.deepEqual(targets(items), ['/in/one.txt', '/in/a.txt']);
  });

  it('puts a directory under /<dirname> with -r and no path, skipping symlinked directories', async () => {
    const warnings: string[] = [];
    const items = await planPut(input({ sources: [join(dir, 'data')], recursive: true }), { warn: (m) => warnings.push(m) });
    assert.deepEqual(targets(items), ['/data/a.txt', '/data/pack.tar', '/data/sub/b.txt']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /loop/);
  });

  it('puts a directory\'s contents directly under the path with -r and a path', async () => {
    const items = await planPut(input({ sources: [join(dir, 'data')], recursive: true, path: '/p' }), { warn: () => undefined });
    assert.deepEqual(targets(items), ['/p/a.txt', '/p/pack.tar', '/p/sub/b.txt']);
  });

  it('unpacks only archives inside a -r walk with --untar', async () => {
    const items = await planPut(input({ sources: [join(dir, 'data')], recursive: true, untar: true }), { warn: () => undefined });
    assert.deepEqual(targets(items), ['/data/a.txt', 'tar:/data', '/data/sub/b.txt']);
  });

  it('unpacks a named archive or stdin under the path with --untar', async () => {
    assert.deepEqual(targets(await planPut(input({ sources: ['-'], untar: true }))), ['tar:/']);
    assert.deepEqual(targets(await planPut(input({ sources: [join(dir, 'one.txt')], untar: true, path: '/u' }))), ['tar:/u']);
  });

  it('reads stdin into the given path', async () => {
    assert.deepEqual(await planPut(input({ sources: ['-'], path: '/s.txt' })), [{ kind: 'stdin', target: '/s.txt' }]);
  });

  const refusals: Array<[string, Partial<PutPlanInput>, RegExp]> = [
    ['stdin without a path', { sources: ['-'] }, /must specify filename when reading data from stdin/],
    ['stdin with -r', { sources: ['-'], recursive: true, path: '/x' }, /cannot set -r and read from stdin/],
    ['stdin named twice', { sources: ['-', '-'], path: '/x' }, /only once/],
    ['a URL', { sources: ['http://example.com/x'] }, /URLs is not supported/],
    ['a path with ..', { sources: ['-'], path: '../x' }, /has a "\.\." segment/],
    ['no sources', { sources: [] }, /no files to put/],
  ];
  for (const [what, over, re] of refusals) {
    it(`refuses ${what}`, async () => {
      await assert.rejects(planPut(input(over)), (err: unknown) => isSluiceError(err) && re.test(err.message));
    });
  }

  it('refuses a directory without -r and a missing file', async () => {
    await assert.rejects(planPut(input({ sources: [join(dir, 'data')] })), /is a directory; use -r/);
    await assert.rejects(planPut(input({ sources: [join(dir, 'missing')] })), /no such file or directory/);
  });
});

describe('splitBySize', () => {
  it('spreads files into groups of roughly equal size, each in its original order', () => {
    const files = [100, 1, 50, 50, 2, 97].map((size, i) => ({ size, i }));
    const groups = splitBySize(files, 2);
    assert.equal(groups.length, 2);
    const totals = groups.map((g) => g.reduce((n, f) => n + f.size, 0));
    assert.ok(Math.abs((totals[0] ?? 0) - (totals[1] ?? 0)) <= 5, `totals ${totals.join(', ')}`);
    for (const g of groups) assert.deepEqual(g.map((f) => f.i), [...g.map((f) => f.i)].sort((a, b) => a - b));
    assert.equal(groups.flat().length, files.length);
  });

  it('makes no more groups than files', () => {
    assert.equal(splitBySize([{ size: 1 }, { size: 2 }], 10).length, 2);
    assert.equal(splitBySize([], 10).length, 0);
  });
});
