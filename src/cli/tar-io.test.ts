import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { isSluiceError } from '../client/index.js';
import { entryPath, extractTo, maybeGunzip, packFiles } from './tar-io.js';

async function bytes(src: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of src) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

function tarOf(entries: Array<{ name: string; body?: string; type?: 'file' | 'symlink' | 'directory'; linkname?: string }>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '/etc/passwd' });
    else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
    else pack.entry({ name: e.name }, e.body ?? '');
  }
  pack.finalize();
  return bytes(pack as AsyncIterable<Buffer>);
}

async function readTar(buf: Buffer): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ex = tarStream.extract();
  const done = (async () => {
    for await (const entry of ex) out[entry.header.name] = (await bytes(entry as AsyncIterable<Buffer>)).toString();
  })();
  ex.end(buf);
  await done;
  return out;
}

describe('tar-io', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-tar-io-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('packs local files under their targets, small and streamed alike', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    await writeFile(join(dir, 'small'), 'hello');
    await writeFile(join(dir, 'big'), big);
    const tar = await bytes(packFiles([
      { source: join(dir, 'small'), target: '/a/small.txt', size: 5 },
      { source: join(dir, 'big'), target: '/big.bin', size: big.length },
    ], new AbortController().signal));
    const files = await readTar(tar);
    assert.deepEqual(Object.keys(files), ['a/small.txt', 'big.bin']);
    assert.equal(files['a/small.txt'], 'hello');
    assert.equal(files['big.bin']?.length, big.length);
  });

  it('fails the archive when a file is missing', async () => {
    await assert.rejects(bytes(packFiles([{ source: join(dir, 'nope'), target: '/x', size: 1 }], new AbortController().signal)), /cannot read/);
  });

  it('passes plain data through and gunzips gzip data', async () => {
    assert.equal((await bytes(maybeGunzip([Buffer.from('plain')]))).toString(), 'plain');
    const gz = gzipSync(Buffer.from('squeezed'));
    // Split inside the magic bytes to check the sniffing buffers enough.
    assert.equal((await bytes(maybeGunzip([gz.subarray(0, 1), gz.subarray(1)]))).toString(), 'squeezed');
    assert.equal((await bytes(maybeGunzip([]))).length, 0);
  });

  it('refuses entry names that leave the output directory', () => {
    const root = join(dir, 'out');
    assert.equal(entryPath(root, 'a/b.txt'), join(root, 'a', 'b.txt'));
    assert.equal(entryPath(root, './a/./b.txt'), join(root, 'a', 'b.txt'));
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a/..', 'x\0y']) {
      assert.throws(() => entryPath(root, bad), (err: unknown) => isSluiceError(err, 'PFS_TAR_INVALID'), bad);
    }
  });

  it('extracts an archive under a directory', async () => {
    const root = join(dir, 'ok');
    const n = await extractTo(root, [await tarOf([{ name: 'd/', type: 'directory' }, { name: 'd/x.txt', body: 'x' }, { name: 'y.txt', body: 'yy' }])]);
    assert.equal(n, 2);
    assert.equal(await readFile(join(root, 'd', 'x.txt'), 'utf8'), 'x');
    assert.equal(await readFile(join(root, 'y.txt'), 'utf8'), 'yy');
  });

  it('refuses an escaping entry and a symlink before writing them', async () => {
    const root = join(dir, 'bad');
    await assert.rejects(extractTo(root, [await tarOf([{ name: '../escaped.txt', body: 'no' }])]), /escapes the output directory/);
    await assert.rejects(extractTo(root, [await tarOf([{ name: 'link', type: 'symlink' }])]), /symlink entries are not extracted/);
    assert.deepEqual(await readdir(root), []);
    assert.ok(!(await readdir(dir)).includes('escaped.txt'));
  });
});
