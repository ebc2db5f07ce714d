import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SluiceError } from '../../errors/index.js';
import { ArchiveReader, readArchiveEvents, readArchives } from './archive-reader.js';
import type { Archive, ArchiveEvent, ArchiveSourceItem, ReadArchivesOptions } from './archive-reader.js';
import type { FifoEvent } from './fifo-source.js';

// ---- producers -------------------------------------------------------------------------------

/** Runs a command and returns its stdout; rejects on a non-zero exit. */
function run(cmd: string, args: string[], cwd?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err).toString()}`));
    });
  });
}

const tar = (cwd: string, ...args: string[]): Promise<Buffer> => run('tar', args, cwd);
const python = (code: string, ...args: string[]): Promise<Buffer> => run('python3', ['-c', code, ...args]);

/** Python: one archive per call of `tarfile.open(mode='w|')` on stdout; `spec` is a Python
 * expression giving a list of archives, each a list of (name, bytes) pairs. */
function pythonArchives(spec: string, format = 'tarfile.PAX_FORMAT'): Promise<Buffer> {
  return python(`
import io, sys, tarfile
out = sys.stdout.buffer
for archive in ${spec}:
    with tarfile.open(fileobj=out, mode='w|', format=${format}) as tf:
        for name, data in archive:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
`);
}

// ---- feeding ---------------------------------------------------------------------------------

const CLOSED: FifoEvent = { type: 'writer-closed' };
const data = (chunk: Buffer): FifoEvent => ({ type: 'data', chunk });

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

/** Feeds pipe events (explicit writer closes) and returns the archives and the errors. */
async function collect(items: FifoEvent[], options: ReadArchivesOptions = {}): Promise<{ archives: Archive[]; errors: SluiceError[] }> {
  const archives: Archive[] = [];
  const errors: SluiceError[] = [];
  for await (const a of readArchives(from(items), { ...options, onError: (e) => errors.push(e) })) archives.push(a);
  return { archives, errors };
}

/** What an archive amounts to: its paths and bodies. */
const files = (a: Archive | undefined): Array<[string, string]> => (a?.entries ?? []).map((e) => [e.path, e.body.toString()]);
const problems = (errors: SluiceError[]): unknown[] => errors.map((e) => e.details?.problem);

/** Splits a buffer at deterministic pseudo-random points (1..1500 bytes). */
function split(buf: Buffer, seed: number): Buffer[] {
  const out: Buffer[] = [];
  let x = seed;
  for (let i = 0; i < buf.length; ) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const n = 1 + (x % 1500);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** A hand-made header block, for layouts no producer at hand writes. */
function header(name: string, opts: { size?: number; typeflag?: string; base256Size?: boolean } = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  b.write('0000644\0', 100, 'latin1');
  b.write('0000000\0', 108, 'latin1');
  b.write('0000000\0', 116, 'latin1');
  const size = opts.size ?? 0;
  if (opts.base256Size === true) {
    b[124] = 0x80;
    b.writeUIntBE(size, 130, 6);
  } else {
    b.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  }
  b.write('00000000000\0', 136, 'latin1');
  b.write(opts.typeflag ?? '0', 156, 'latin1');
  b.write('ustar\x0000', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}

const pad = (body: Buffer): Buffer => Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
const TRAILER = Buffer.alloc(1024);

/** An archive minus its trailing zero blocks: what a writer that never closes its tar writer leaves. */
function withoutTrailer(archive: Buffer): Buffer {
  let end = archive.length;
  while (end >= 512 && archive.subarray(end - 512, end).every((b) => b === 0)) end -= 512;
  return archive.subarray(0, end);
}

// ---- tests -----------------------------------------------------------------------------------

describe('ArchiveReader', { timeout: 120_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-archive-reader-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function tree(name: string, layout: Record<string, string | null>): Promise<string> {
    const root = join(dir, name);
    await mkdir(root, { recursive: true });
    for (const [path, content] of Object.entries(layout)) {
      if (content === null) await mkdir(join(root, path), { recursive: true });
      else await writeFile(join(root, path), content);
    }
    return root;
  }

  it('reads a GNU tar archive with directories, files and the leading ./ entry', async () => {
    const root = await tree('gnu', { sub: null, a: 'alpha\n', 'sub/b': 'beta' });
    const bytes = await tar(root, '-cf', '-', '--sort=name', '.');
    assert.equal(bytes.length % 10240, 0, 'GNU tar pads to a 10240-byte record');
    const { archives, errors } = await collect([data(bytes), CLOSED]);
    assert.deepEqual(errors, []);
    assert.equal(archives.length, 1);
    const a = archives[0]!;
    assert.deepEqual(
      a.entries.map((e) => [e.path, e.type, e.size]),
      [
        ['/', 'directory', 0],
        ['/a', 'file', 6],
        ['/sub', 'directory', 0],
        ['/sub/b', 'file', 4],
      ],
    );
    assert.equal(a.entries[1]!.body.toString(), 'alpha\n');
    assert.equal(a.entries[1]!.name, './a');
    assert.equal(a.entries[1]!.mode, (await stat(join(root, 'a'))).mode & 0o7777);
    assert.equal(a.trailer, true);
    assert.equal(a.offset, 0);
  });

  it('splits several Python tarfile w| archives written on one stream', async () => {
    // Pachyderm's SpoutPython: 5 archives on one open, each with two entries named "0".
    const bytes = await pythonArchives(`[[('0', bytes([65 + i]) * 2048)] * 2 for i in range(5)]`);
    const { archives, errors } = await collect([data(bytes), CLOSED]);
    assert.deepEqual(errors, []);
    assert.equal(archives.length, 5);
    archives.forEach((a, i) => {
      const body = String.fromCharCode(65 + i).repeat(2048);
      assert.deepEqual(files(a), [
        ['/0', body],
        ['/0', body],
      ]);
    });
    assert.deepEqual(
      archives.map((a) => a.offset),
      [0, 10240, 20480, 30720, 40960],
    );
  });

  it('skips zero padding of any length between archives', async () => {
    const one = await pythonArchives(`[[('one', b'1')]]`);
    const two = await pythonArchives(`[[('two', b'22')]]`);
    const stream = Buffer.concat([Buffer.alloc(512 * 3), one, Buffer.alloc(512 * 7), two, Buffer.alloc(512)]);
    const { archives, errors } = await collect([data(stream), CLOSED]);
    assert.deepEqual(errors, []);
    assert.deepEqual(archives.map(files), [[['/one', '1']], [['/two', '22']]]);
  });

  it('yields nothing for an open/close with no data, only padding, or an empty archive', async () => {
    const empty = await tar(dir, '-cf', '-', '-T', '/dev/null');
    const reader = new ArchiveReader();
    const events: ArchiveEvent[] = [
      ...reader.writerClosed(),
      ...reader.push(Buffer.alloc(10240)),
      ...reader.writerClosed(),
      ...reader.push(empty),
      ...reader.writerClosed(),
    ];
    assert.deepEqual(events, []);
  });

  it('drops a fragment shorter than a block left by a writer between archives', async () => {
    // Pachyderm's SpoutHammer writes `echo "" > /pfs/out` between archives.
    const good = await pythonArchives(`[[('date', b'today')]]`);
    const reader = new ArchiveReader();
    const events = [...reader.push(Buffer.from('\n')), ...reader.writerClosed(), ...reader.push(good), ...reader.writerClosed()];
    assert.deepEqual(events[0], { type: 'fragment-dropped', offset: 0, bytes: 1 });
    assert.equal(events.filter((e) => e.type === 'archive-end').length, 1);
    assert.equal(events.filter((e) => e.type === 'archive-error').length, 0);
  });

  it('drops a fragment whose writer’s close went unseen, resynchronising on the next archive', async () => {
    // The FIFO race: `echo "" > /pfs/out` and the next `tar -cf /pfs/out` read as one stream.
    const good = await pythonArchives(`[[('date', b'today')]]`);
    for (const fragment of [Buffer.from('\n'), Buffer.alloc(511, 0x41), Buffer.from([0])]) {
      for (const seed of [1, 2, 3]) {
        const { archives, errors } = await collect([...split(Buffer.concat([fragment, good]), seed).map(data), CLOSED]);
        assert.deepEqual(errors, [], `fragment of ${fragment.length} bytes`);
        assert.deepEqual(archives.map(files), [[['/date', 'today']]]);
        assert.equal(archives[0]!.offset, fragment.length, 'offsets count the dropped bytes');
      }
    }
    const reader = new ArchiveReader();
    const events = reader.push(Buffer.concat([Buffer.from('\n'), good]));
    assert.deepEqual(events[0], { type: 'fragment-dropped', offset: 0, bytes: 1 });
  });

  it('does not resynchronise past a corrupted first header onto the archive’s next entry', async () => {
    const root = await tree('first-corrupt', { a: 'alpha', b: 'beta' });
    const corrupt = Buffer.from(await tar(root, '-cf', '-', 'a', 'b'));
    corrupt.writeUInt8(corrupt.readUInt8(1) ^ 0x20, 1);
    const { archives, errors } = await collect([data(corrupt), CLOSED]);
    assert.deepEqual(archives, []);
    assert.deepEqual(problems(errors), ['bad-checksum']);
    assert.equal(errors[0]!.details?.offset, 0);
  });

  it('completes an archive when the writer closes on an entry boundary without the trailer', async () => {
    const full = await pythonArchives(`[[('a', b'alpha'), ('b', b'beta')]]`);
    const { archives, errors } = await collect([data(withoutTrailer(full)), CLOSED, data(full), CLOSED]);
    assert.deepEqual(errors, []);
    assert.equal(archives.length, 2);
    assert.deepEqual(files(archives[0]), [
      ['/a', 'alpha'],
      ['/b', 'beta'],
    ]);
    assert.equal(archives[0]!.trailer, false);
    assert.equal(archives[1]!.trailer, true);
  });

  it('completes an archive whose last body ends exactly on a block and on a chunk end when the writer closes', async () => {
    const full = await pythonArchives(`[[('a', b'x' * 1024)]]`);
    const bare = withoutTrailer(full);
    assert.equal(bare.length, 1536);
    const { archives, errors } = await collect([data(bare.subarray(0, 700)), data(bare.subarray(700)), CLOSED]);
    assert.deepEqual(errors, []);
    assert.deepEqual(files(archives[0]), [['/a', 'x'.repeat(1024)]]);
  });

  it('completes an archive that ends with a single zero block when the writer closes', async () => {
    const body = Buffer.from('x');
    const stream = Buffer.concat([header('a', { size: 1 }), pad(body), Buffer.alloc(512)]);
    const { archives, errors } = await collect([data(stream), CLOSED]);
    assert.deepEqual(errors, []);
    assert.deepEqual(files(archives[0]), [['/a', 'x']]);
  });

  it('refuses an archive cut mid-body and reads the next writer’s archive', async () => {
    const big = await pythonArchives(`[[('big', b'x' * 5000)]]`);
    const good = await pythonArchives(`[[('good', b'ok')]]`);
    const cut = big.subarray(0, 512 + 1000);
    const { archives, errors } = await collect([data(cut), CLOSED, data(good), CLOSED]);
    assert.deepEqual(problems(errors), ['truncated']);
    assert.equal(errors[0]!.code, 'PFS_TAR_INVALID');
    assert.equal(errors[0]!.details?.offset, 1512);
    assert.match(errors[0]!.message, /"big".*1000 of 5000 bytes/);
    assert.deepEqual(archives.map(files), [[['/good', 'ok']]]);
    assert.equal(archives[0]!.offset, 1512, 'offsets count every byte of the stream');
  });

  it('refuses an archive cut inside a header block or after an extended header', async () => {
    const longName = 'd/'.repeat(80) + 'file';
    const pax = await pythonArchives(`[[(${JSON.stringify(longName)}, b'body')]]`);
    for (const cut of [512 + 100, 1024]) {
      const { archives, errors } = await collect([data(pax.subarray(0, cut)), CLOSED]);
      assert.deepEqual(archives, []);
      assert.deepEqual(problems(errors), ['truncated'], `cut at ${cut}`);
    }
  });

  it('refuses a header with a bad checksum, discards the rest of that writer, then recovers', async () => {
    const root = await tree('checksum', { a: 'alpha', b: 'beta' });
    const archive = await tar(root, '-cf', '-', 'a', 'b');
    const corrupt = Buffer.from(archive);
    corrupt.writeUInt8(corrupt.readUInt8(1025) ^ 0x20, 1025); // the second header ("b") starts at byte 1024
    const good = await tar(root, '-cf', '-', 'a');
    const { archives, errors } = await collect([data(corrupt), data(good), CLOSED, data(good), CLOSED]);
    assert.deepEqual(problems(errors), ['bad-checksum']);
    assert.equal(errors[0]!.details?.offset, 1024);
    assert.equal(errors[0]!.details?.archiveOffset, 0);
    assert.deepEqual(archives.map(files), [[['/a', 'alpha']]], 'only the archive after the writer closed');
  });

  it('refuses garbage that is not a tar header, with no archive started', async () => {
    const reader = new ArchiveReader();
    const events = reader.push(Buffer.from('this is not a tar archive\n'.repeat(40)));
    assert.equal(events.length, 1);
    const [ev] = events;
    assert.equal(ev?.type, 'archive-error');
    assert.equal(ev.type === 'archive-error' && ev.problem, 'bad-checksum');
    assert.equal(ev.type === 'archive-error' && ev.offset, 0);
  });

  it('refuses data after a single zero block', async () => {
    const stream = Buffer.concat([header('a', { size: 1 }), pad(Buffer.from('x')), Buffer.alloc(512), header('b')]);
    const { archives, errors } = await collect([data(stream), CLOSED]);
    assert.deepEqual(archives, []);
    assert.deepEqual(problems(errors), ['bad-header']);
    assert.equal(errors[0]!.details?.offset, 1536);
  });

  it('refuses symlinks, hard links and FIFOs, naming the entry, and reads the next archive on the stream', async () => {
    const root = await tree('links', { a: 'alpha' });
    await symlink('a', join(root, 'sym'));
    await link(join(root, 'a'), join(root, 'hard'));
    await run('mkfifo', [join(root, 'pipe')]);
    const good = await tar(root, '-cf', '-', 'a');
    const cases: Array<[string[], RegExp]> = [
      [['sym'], /"sym" is a symbolic link/],
      [['a', 'hard'], /"hard" is a hard link/],
      [['pipe'], /"pipe" is a FIFO/],
    ];
    for (const [members, message] of cases) {
      const bad = await tar(root, '-cf', '-', ...members);
      const { archives, errors } = await collect([data(Buffer.concat([bad, good])), CLOSED]);
      assert.deepEqual(problems(errors), ['unsupported-type']);
      assert.match(errors[0]!.message, message);
      assert.deepEqual(archives.map(files), [[['/a', 'alpha']]], `after ${members.join(',')}`);
    }
  });

  it('refuses a GNU sparse file', async () => {
    const root = await tree('sparse', {});
    await python(`
f = open(${JSON.stringify(join(root, 'holes'))}, 'wb'); f.seek(4 << 20); f.write(b'end'); f.close()`);
    const bytes = await tar(root, '--sparse', '-cf', '-', 'holes');
    const { archives, errors } = await collect([data(bytes), CLOSED]);
    assert.deepEqual(archives, []);
    assert.deepEqual(problems(errors), ['unsupported-type']);
    assert.match(errors[0]!.message, /sparse/);
  });

  it('refuses entries that climb out of the root or hold a NUL, naming the entry', async () => {
    for (const name of ['../evil', 'a/../../b', 'a/../b', '..']) {
      const bytes = await pythonArchives(`[[('ok', b'1'), (${JSON.stringify(name)}, b'2')]]`);
      const { archives, errors } = await collect([data(bytes), CLOSED]);
      assert.deepEqual(archives, [], name);
      assert.deepEqual(problems(errors), ['unsafe-path'], name);
      assert.equal(errors[0]!.details?.entry, name);
      assert.match(errors[0]!.message, /".." segment/);
    }
    const nul = await python(`
import io, sys, tarfile
with tarfile.open(fileobj=sys.stdout.buffer, mode='w|', format=tarfile.PAX_FORMAT) as tf:
    ti = tarfile.TarInfo('innocent'); ti.size = 1; ti.pax_headers = {'path': 'evil\\x00name'}
    tf.addfile(ti, io.BytesIO(b'x'))`);
    const { archives, errors } = await collect([data(nul), CLOSED]);
    assert.deepEqual(archives, []);
    assert.deepEqual(problems(errors), ['unsafe-path']);
    assert.match(errors[0]!.message, /NUL/);
  });

  it('refuses a GNU long name with a NUL inside it', async () => {
    const name = Buffer.from('a\0b\0\0');
    const stream = Buffer.concat([header('././@LongLink', { size: name.length, typeflag: 'L' }), pad(name), header('a'), TRAILER]);
    const { errors } = await collect([data(stream), CLOSED]);
    assert.deepEqual(problems(errors), ['unsafe-path']);
  });

  it('refuses a name that is not UTF-8', async () => {
    const root = await tree('latin1', {});
    await python(`open(${JSON.stringify(root)}.encode() + b'/caf\\xe9', 'wb').write(b'x')`);
    const bytes = await tar(root, '-cf', '-', '.');
    const { errors } = await collect([data(bytes), CLOSED]);
    assert.deepEqual(problems(errors), ['unsafe-path']);
    assert.match(errors[0]!.message, /not valid UTF-8/);
  });

  it('reads ./a, a and /a as /a, and refuses /a when absolute paths are refused', async () => {
    const bytes = await pythonArchives(`[[('./a', b'1'), ('a', b'2'), ('/a', b'3'), ('//x/./y/', b'4')]]`);
    const { archives, errors } = await collect([data(bytes), CLOSED]);
    assert.deepEqual(errors, []);
    assert.deepEqual(files(archives[0]), [
      ['/a', '1'],
      ['/a', '2'],
      ['/a', '3'],
      ['/x/y', '4'],
    ]);
    const strict = await collect([data(bytes), CLOSED], { absolutePaths: 'refuse' });
    assert.deepEqual(strict.archives, []);
    assert.match(strict.errors[0]!.message, /"\/a" is an absolute path/);
  });

  it('reads names longer than 100 bytes: GNU long names, pax paths and ustar prefixes', async () => {
    const root = await tree('long', {});
    const deep = 'directory-'.repeat(9) + '/' + 'name-'.repeat(12);
    await mkdir(join(root, 'directory-'.repeat(9)));
    await writeFile(join(root, deep), 'deep');
    const flat = 'f'.repeat(150);
    await writeFile(join(root, flat), 'flat');
    const gnu = await tar(root, '--format=gnu', '-cf', '-', deep, flat);
    const paxGnuTar = await tar(root, '--format=pax', '-cf', '-', deep, flat);
    const ustar = await tar(root, '--format=ustar', '-cf', '-', deep);
    const paxPython = await pythonArchives(`[[(${JSON.stringify(deep)}, b'deep'), (${JSON.stringify(flat)}, b'flat'), ('ünïcödé.txt', b'u')]]`);
    const { archives, errors } = await collect([data(gnu), data(paxGnuTar), data(ustar), data(paxPython), CLOSED]);
    assert.deepEqual(errors, []);
    assert.equal(archives.length, 4);
    const both: Array<[string, string]> = [
      ['/' + deep, 'deep'],
      ['/' + flat, 'flat'],
    ];
    assert.deepEqual(files(archives[0]), both, 'GNU L headers');
    assert.deepEqual(files(archives[1]), both, 'pax headers from GNU tar');
    assert.deepEqual(files(archives[2]), [['/' + deep, 'deep']], 'ustar prefix field');
    assert.deepEqual(files(archives[3]), [...both, ['/ünïcödé.txt', 'u']], 'pax headers from Python');
  });

  it('ignores a pax global header', async () => {
    const bytes = await python(`
import io, sys, tarfile
with tarfile.open(fileobj=sys.stdout.buffer, mode='w|', format=tarfile.PAX_FORMAT, pax_headers={'comment': 'made by a test'}) as tf:
    ti = tarfile.TarInfo('a'); ti.size = 1
    tf.addfile(ti, io.BytesIO(b'x'))`);
    assert.equal(String.fromCharCode(bytes[156]!), 'g', 'Python wrote a global header first');
    const { archives, errors } = await collect([data(bytes), CLOSED]);
    assert.deepEqual(errors, []);
    assert.deepEqual(files(archives[0]), [['/a', 'x']]);
    assert.equal(archives[0]!.offset, 0, 'the archive starts at the global header');
    assert.equal(archives[0]!.entries[0]!.offset, 1024, 'the global header is not part of the entry');
  });

  it('reads a base-256 size field', async () => {
    const body = Buffer.from('base256');
    const stream = Buffer.concat([header('a', { size: body.length, base256Size: true }), pad(body), TRAILER]);
    const { archives, errors } = await collect([data(stream), CLOSED]);
    assert.deepEqual(errors, []);
    assert.deepEqual(files(archives[0]), [['/a', 'base256']]);
  });

  it('refuses a malformed pax record', async () => {
    const records = Buffer.from('30 path=this-length-is-wrong\n');
    const stream = Buffer.concat([header('PaxHeader/a', { size: records.length, typeflag: 'x' }), pad(records), header('a'), TRAILER]);
    const { errors } = await collect([data(stream), CLOSED]);
    assert.deepEqual(problems(errors), ['bad-pax']);
  });

  it('reports the marker entry beside the data entries (spout-marker layout)', async () => {
    // examples/spouts/spout-marker writes `mymark` and `output`; SpoutMarker writes `mymark/test`.
    const bytes = await pythonArchives(`[[('mymark', b'.\\n..\\n'), ('output', b'..\\n')], [('test', b'x\\n'), ('mymark/test', b'x\\n')]]`);
    const { archives, errors } = await collect([data(bytes), CLOSED]);
    assert.deepEqual(errors, []);
    assert.deepEqual(archives.map((a) => a.entries.map((e) => e.path)), [
      ['/mymark', '/output'],
      ['/test', '/mymark/test'],
    ]);
  });

  it('gives the same result however the stream is cut into chunks', async () => {
    const root = await tree('chunks', { a: 'alpha', sub: null, 'sub/b': 'b'.repeat(3000) });
    const stream = Buffer.concat([
      await tar(root, '-cf', '-', '.'),
      await pythonArchives(`[[('x' * 120, b'long'), ('y', b'')], [('z', b'z' * 700)]]`),
      Buffer.alloc(1536),
      await tar(root, '--format=pax', '-cf', '-', 'sub'),
    ]);
    const whole = await collect([data(stream), CLOSED]);
    assert.equal(whole.archives.length, 4);
    for (const seed of [1, 2, 3, 42]) {
      const pieces = await collect([...split(stream, seed).map(data), CLOSED]);
      assert.deepEqual(pieces.archives.map(files), whole.archives.map(files), `seed ${seed}`);
      assert.deepEqual(pieces.errors, []);
    }
  });

  it('streams a 50 MB entry in pieces, without buffering the body', async () => {
    const root = await tree('big', {});
    const size = 50 * 1024 * 1024;
    const content = randomBytes(size);
    await writeFile(join(root, 'big'), content);
    const expected = createHash('sha256').update(content).digest('hex');
    const child = spawn('tar', ['-cf', '-', 'big'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let readSoFar = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        readSoFar += chunk.length;
        yield chunk;
      }
    }
    const hash = createHash('sha256');
    let pieces = 0;
    let readAtFirstPiece = -1;
    let largest = 0;
    let ended = false;
    for await (const ev of readArchiveEvents(counted())) {
      if (ev.type === 'entry-data') {
        if (readAtFirstPiece < 0) readAtFirstPiece = readSoFar;
        pieces++;
        largest = Math.max(largest, ev.chunk.length);
        hash.update(ev.chunk);
      } else if (ev.type === 'archive-end') {
        ended = true;
      } else if (ev.type === 'archive-error') {
        throw ev.error;
      }
    }
    assert.equal(ended, true);
    assert.equal(hash.digest('hex'), expected);
    assert.ok(pieces > 100, `${pieces} pieces`);
    assert.ok(readAtFirstPiece < 1024 * 1024, `the first piece came after reading ${readAtFirstPiece} bytes`);
    assert.ok(largest <= 1024 * 1024, `largest piece ${largest} bytes`);
  });

  it('refuses an archive over maxBufferedBytes in readArchives and reads the next one', async () => {
    const bytes = await pythonArchives(`[[('big', b'x' * 300000)], [('small', b'ok')]]`);
    const { archives, errors } = await collect([data(bytes), CLOSED], { maxBufferedBytes: 100000 });
    assert.deepEqual(problems(errors), ['too-large']);
    assert.deepEqual(archives.map(files), [[['/small', 'ok']]]);
  });

  it('throws the first refusal from readArchives when no onError is given', async () => {
    const bytes = await pythonArchives(`[[('../x', b'1')]]`);
    await assert.rejects(
      async () => {
        for await (const _ of readArchives(from<ArchiveSourceItem>([bytes]))) assert.fail('no archive expected');
      },
      { name: 'SluiceError', code: 'PFS_TAR_INVALID' },
    );
  });

  it('treats the end of a byte source as the writer closing, and of an event source as an interruption', async () => {
    const full = await pythonArchives(`[[('a', b'alpha')]]`);
    const partial = withoutTrailer(full);
    const fromBytes = await (async () => {
      const out: Archive[] = [];
      for await (const a of readArchives(from<ArchiveSourceItem>([partial]))) out.push(a);
      return out;
    })();
    assert.deepEqual(fromBytes.map(files), [[['/a', 'alpha']]]);
    const fromEvents = await collect([data(partial)]);
    assert.deepEqual(fromEvents.archives, []);
    assert.deepEqual(problems(fromEvents.errors), ['interrupted']);
    const refused = await pythonArchives(`[[('../x', b'1'), ('y', b'2')]]`);
    const refusedThenEnd = await collect([data(withoutTrailer(refused))]);
    assert.deepEqual(problems(refusedThenEnd.errors), ['unsafe-path'], 'a refused archive is reported once');
  });

  it('announces every archive with archive-start and ends it exactly once', async () => {
    const good = await pythonArchives(`[[('a', b'1')], [('../b', b'2')], [('c', b'3')]]`);
    const reader = new ArchiveReader();
    const events = [...reader.push(good), ...reader.push(good.subarray(0, 512)), ...reader.writerClosed()];
    const outline = events.filter((e) => e.type !== 'entry-data').map((e) => (e.type === 'archive-error' ? `error:${e.problem}` : e.type));
    assert.deepEqual(outline, [
      'archive-start', 'entry-start', 'entry-end', 'archive-end',
      'archive-start', 'error:unsafe-path',
      'archive-start', 'entry-start', 'entry-end', 'archive-end',
      'archive-start', 'entry-start', 'error:truncated',
    ]);
  });
});
