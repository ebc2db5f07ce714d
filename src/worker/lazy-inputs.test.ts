import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { DatumInput } from '../api/pps-types.js';
import { LazyFeeds } from './lazy-inputs.js';
import { distinctInputs, materializeInputs, type InputSource } from './materialize-inputs.js';

const input = (path: string, more: Partial<DatumInput> = {}): DatumInput => ({ name: 'in', repo: 'r', commit: 'c', path, type: 'file', ...more });

/** Serves `files` (path -> content); records which paths were fetched. */
function source(files: Record<string, string>, fail?: string): InputSource & { fetched: string[] } {
  const fetched: string[] = [];
  return {
    fetched,
    async getFile(_repo, _ref, path) {
      fetched.push(path);
      if (path === fail) {
        return new Readable({
          read() {
            this.push('partial');
            this.destroy(new Error('connection reset while reading'));
          },
        });
      }
      return Readable.from([Buffer.from(files[path] ?? '')]);
    },
    async getTar() {
      throw new Error('no tars here');
    },
  };
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-lazy-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('lazy and empty_files inputs', () => {
  it('puts a named pipe where a lazy file goes and streams the file when it is read', async () => {
    await withDir(async (dir) => {
      const src = source({ '/a.txt': 'alpha\n', '/b.txt': 'beta\n' });
      const lazy = new LazyFeeds(src);
      const bytes = await materializeInputs(src, [input('/a.txt', { lazy: true }), input('/b.txt', { lazy: true })], dir, new AbortController().signal, lazy);
      assert.equal(bytes, 0, 'nothing is downloaded up front');
      assert.ok((await stat(join(dir, 'in', 'a.txt'))).isFIFO());
      assert.equal(await readFile(join(dir, 'in', 'a.txt'), 'utf8'), 'alpha\n');
      const got = await lazy.close();
      assert.deepEqual(got, { bytes: 6 });
      assert.deepEqual(src.fetched, ['/a.txt'], 'the file nobody opened was never fetched');
    });
  });

  it('reports a lazy file whose stream broke, so the datum cannot pass on a truncated read', async () => {
    await withDir(async (dir) => {
      const src = source({}, '/a.txt');
      const lazy = new LazyFeeds(src);
      await materializeInputs(src, [input('/a.txt', { lazy: true })], dir, new AbortController().signal, lazy);
      await readFile(join(dir, 'in', 'a.txt'), 'utf8');
      const got = await lazy.close();
      assert.match(String(got.error), /connection reset/);
    });
  });

  it('downloads lazy files when no LazyFeeds is given, and writes empty_files without fetching', async () => {
    await withDir(async (dir) => {
      const src = source({ '/a.txt': 'alpha\n', '/b.txt': 'beta\n' });
      const bytes = await materializeInputs(src, [input('/a.txt', { lazy: true }), input('/b.txt', { emptyFiles: true })], dir, new AbortController().signal);
      assert.equal(bytes, 6);
      assert.equal(await readFile(join(dir, 'in', 'a.txt'), 'utf8'), 'alpha\n');
      assert.equal(await readFile(join(dir, 'in', 'b.txt'), 'utf8'), '');
      assert.deepEqual(src.fetched, ['/a.txt']);
    });
  });

  it('writes each path of a datum once, and no file its directory input already brings', () => {
    const dir: DatumInput = { name: 'in', repo: 'r', commit: 'c', path: '/d', type: 'dir' };
    const got = distinctInputs([input('/d/x'), dir, input('/a'), input('/a'), input('/a', { name: 'other' }), input('/dx')]);
    assert.deepEqual(got.map((i) => `${i.name}:${i.path}`), ['in:/d', 'in:/a', 'other:/a', 'in:/dx']);
  });
});
