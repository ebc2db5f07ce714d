import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SluiceError } from '../../errors/index.js';
import { readArchiveEvents, readArchives } from './archive-reader.js';
import type { Archive } from './archive-reader.js';
import { makeFifo, openFifoSource } from './fifo-source.js';
import type { FifoEvent } from './fifo-source.js';

/** Polls `done` until it holds or the deadline passes. */
async function waitFor(what: string, done: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `promise`, or a rejection naming `what` if it has not settled within `ms`. */
async function within<T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

interface Writer {
  child: ChildProcess;
  lines: string[];
  exit: Promise<number | null>;
}

/** A writer process: `python3 -c code fifo ...args`, its stdout lines collected. */
function writer(code: string, fifo: string, ...args: string[]): Writer {
  const child = spawn('python3', ['-c', code, fifo, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let rest = '';
  child.stdout?.on('data', (c: Buffer) => {
    const parts = (rest + c.toString()).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exit };
}

/** Python helper shared by the writers: `archive(name, data, trailer=True)` returns tar bytes. */
const PY_ARCHIVE = `
import io, os, sys, tarfile
def archive(name, data, trailer=True):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.GNU_FORMAT) as tf:
        ti = tarfile.TarInfo(name); ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    if not trailer:
        raw = raw[:512 + (len(data) + 511) // 512 * 512]
    return raw
path = sys.argv[1]
`;

/** Reads whole archives from the FIFO in the background until stopped. */
function consume(fifo: string, highWaterMark?: number): { archives: Archive[]; errors: SluiceError[]; stop: () => Promise<void> } {
  const ac = new AbortController();
  const archives: Archive[] = [];
  const errors: SluiceError[] = [];
  const source = openFifoSource(fifo, ac.signal, highWaterMark === undefined ? {} : { highWaterMark });
  const done = (async () => {
    for await (const a of readArchives(source, { onError: (e) => errors.push(e) })) archives.push(a);
  })();
  return {
    archives,
    errors,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

const only = (a: Archive | undefined): [string, string] => {
  assert.equal(a?.entries.length, 1);
  const e = a.entries[0]!;
  return [e.path, e.body.toString()];
};

describe('openFifoSource', { timeout: 180_000 }, () => {
  let dir: string;
  let n = 0;
  const fresh = async (): Promise<string> => {
    const path = join(dir, `out${n++}`);
    await makeFifo(path);
    return path;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-fifo-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no archive across 1,000 rapid open/write/close cycles', async () => {
    // Pachyderm's SpoutRapidOpenClose (issue #4327): one archive per open, 1,000 times.
    const fifo = await fresh();
    const reader = consume(fifo);
    const w = writer(
      PY_ARCHIVE +
        `
for i in range(1000):
    with open(path, 'wb') as f:
        f.write(archive('test%d' % i, (b'message %d\\n' % i) * (i % 7 + 1)))
`,
      fifo,
    );
    await waitFor('1,000 archives', () => reader.archives.length >= 1000 || reader.errors.length > 0, 60_000);
    assert.equal(await w.exit, 0, 'no writer saw a broken pipe');
    await reader.stop();
    assert.deepEqual(reader.errors, []);
    assert.equal(reader.archives.length, 1000);
    reader.archives.forEach((a, i) => {
      assert.deepEqual(only(a), [`/test${i}`, `message ${i}\n`.repeat((i % 7) + 1)]);
    });
  });

  it('splits several archives written on one open, and ignores an open/close with no data', async () => {
    const fifo = await fresh();
    const reader = consume(fifo);
    const w = writer(
      PY_ARCHIVE +
        `
open(path, 'wb').close()
with open(path, 'wb') as f:
    for i in range(5):
        with tarfile.open(fileobj=f, mode='w|') as tf:
            ti = tarfile.TarInfo('0'); ti.size = 2048
            tf.addfile(ti, io.BytesIO(bytes([65 + i]) * 2048))
open(path, 'wb').close()
`,
      fifo,
    );
    assert.equal(await w.exit, 0);
    await waitFor('5 archives', () => reader.archives.length >= 5);
    await reader.stop();
    assert.deepEqual(reader.errors, []);
    assert.deepEqual(
      reader.archives.map(only),
      [0, 1, 2, 3, 4].map((i) => ['/0', String.fromCharCode(65 + i).repeat(2048)]),
    );
  });

  it('sees the writer close, so an archive without a trailer completes', async () => {
    const fifo = await fresh();
    const reader = consume(fifo);
    for (let i = 0; i < 3; i++) {
      const w = writer(PY_ARCHIVE + `open(path, 'wb').write(archive('n%s' % sys.argv[2], b'no trailer', trailer=False))`, fifo, String(i));
      assert.equal(await w.exit, 0);
      await waitFor(`archive ${i}`, () => reader.archives.length > i);
    }
    await reader.stop();
    assert.deepEqual(reader.errors, []);
    assert.deepEqual(reader.archives.map(only), [
      ['/n0', 'no trailer'],
      ['/n1', 'no trailer'],
      ['/n2', 'no trailer'],
    ]);
    assert.ok(reader.archives.every((a) => !a.trailer));
  });

  it('sees the close of a writer that opened the pipe before the reader did', async () => {
    const fifo = await fresh();
    const w = writer(
      PY_ARCHIVE +
        `
print('opening', flush=True)
f = open(path, 'wb')
f.write(archive('early', b'first', trailer=False))
f.close()
`,
      fifo,
    );
    await waitFor('the writer to start opening', () => w.lines.includes('opening'));
    const reader = consume(fifo);
    assert.equal(await w.exit, 0);
    await waitFor('the archive', () => reader.archives.length >= 1);
    await reader.stop();
    assert.deepEqual(reader.errors, []);
    assert.deepEqual(reader.archives.map(only), [['/early', 'first']]);
  });

  it('reports an archive whose writer is killed mid-entry, then reads the next writer’s archives', async () => {
    const fifo = await fresh();
    const reader = consume(fifo);
    const doomed = writer(
      PY_ARCHIVE +
        `
import time
f = open(path, 'wb')
f.write(archive('done', b'complete'))
f.write(archive('doomed', b'x' * 100000)[:512 + 30000])
f.flush()
print('written', flush=True)
time.sleep(120)
`,
      fifo,
    );
    await waitFor('the partial archive to be written', () => doomed.lines.includes('written'));
    await waitFor('the complete archive', () => reader.archives.length >= 1);
    doomed.child.kill('SIGKILL');
    await doomed.exit;
    // The worker restarts user code only after the failed archive is reported, as here: a
    // writer that opened before the reader saw the pipe empty would read as the same stream.
    await waitFor('the truncation to be reported', () => reader.errors.length >= 1);
    const next = writer(
      PY_ARCHIVE +
        `
with open(path, 'wb') as f:
    for i in range(3):
        f.write(archive('after%d' % i, b'fine'))
`,
      fifo,
    );
    assert.equal(await next.exit, 0);
    await waitFor('3 more archives', () => reader.archives.length >= 4);
    await reader.stop();
    assert.equal(reader.errors.length, 1);
    assert.equal(reader.errors[0]!.code, 'PFS_TAR_INVALID');
    assert.equal(reader.errors[0]!.details?.problem, 'truncated');
    assert.match(reader.errors[0]!.message, /"doomed": 30000 of 100000 bytes/);
    assert.deepEqual(reader.archives.map(only), [
      ['/done', 'complete'],
      ['/after0', 'fine'],
      ['/after1', 'fine'],
      ['/after2', 'fine'],
    ]);
  });

  it('delivers a 20 MB entry intact to a slow consumer, pausing the writer', async () => {
    const fifo = await fresh();
    const payload = join(dir, 'payload');
    const size = 20 * 1024 * 1024;
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) content.writeUInt32LE((i * 2654435761) >>> 0, i);
    await writeFile(payload, content);
    const w = writer(PY_ARCHIVE + `open(path, 'wb').write(archive('big', open(sys.argv[2], 'rb').read()))`, fifo, payload);
    const ac = new AbortController();
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const ev of readArchiveEvents(openFifoSource(fifo, ac.signal, { highWaterMark: 64 * 1024 }))) {
      if (ev.type === 'entry-data') {
        hash.update(ev.chunk);
        bytes += ev.chunk.length;
        await new Promise((resolve) => setImmediate(resolve)); // a consumer slower than the pipe
      } else if (ev.type === 'archive-error') {
        throw ev.error;
      } else if (ev.type === 'archive-end') {
        ac.abort();
      }
    }
    assert.equal(await w.exit, 0);
    assert.equal(bytes, size);
    assert.equal(hash.digest('hex'), createHash('sha256').update(content).digest('hex'));
  });

  it('yields data and writer-closed events in order', async () => {
    const fifo = await fresh();
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const ev of openFifoSource(fifo, ac.signal)) seen.push(ev.type === 'data' ? `data:${ev.chunk.toString()}` : 'closed');
    })();
    for (const word of ['one', 'two']) {
      const w = writer(`import sys; open(sys.argv[1], 'wb').write(sys.argv[2].encode())`, fifo, word);
      assert.equal(await w.exit, 0);
      await waitFor(`"${word}" and its close`, () => seen.at(-1) === 'closed' && seen.includes(`data:${word}`));
    }
    ac.abort();
    await done;
    assert.deepEqual(seen, ['data:one', 'closed', 'data:two', 'closed']);
  });

  it('sees the close of a writer whose whole life fell between an EOF and the reopen', async () => {
    // With a 1-byte high-water mark the first chunk pauses the stream, and the second stays
    // in the stream's buffer, which defers its 'end' (and so the reopen) until the consumer
    // reads. Writer B opens, writes and closes in that gap. The new read end is then opened
    // with no writer present, so the kernel raises no POLLHUP for B's close, and only the
    // drain at reopen can see that B is gone.
    const fifo = await fresh();
    const ac = new AbortController();
    const events = openFifoSource(fifo, ac.signal, { highWaterMark: 1 })[Symbol.asyncIterator]();
    const a = writer(
      `
import fcntl, os, struct, sys, termios
def unread(fd): return struct.unpack('i', fcntl.ioctl(fd, termios.FIONREAD, b'0000'))[0]
fd = os.open(sys.argv[1], os.O_WRONLY)
for piece in (b'a', b'c'):
    os.write(fd, piece)
    while unread(fd) > 0: pass
os.close(fd)`,
      fifo,
    );
    assert.equal(await a.exit, 0);
    const b = writer(`import sys; open(sys.argv[1], 'wb').write(b'b')`, fifo);
    assert.equal(await b.exit, 0);
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await within(`event ${i + 1}`, events.next());
      assert.equal(r.done, false);
      seen.push(r.value.type === 'data' ? `data:${r.value.chunk.toString()}` : 'closed');
    }
    ac.abort();
    assert.deepEqual(seen, ['data:a', 'data:c', 'closed', 'data:b', 'closed']);
  });

  it('releases the read end when aborted', async () => {
    const fifo = await fresh();
    const ac = new AbortController();
    const events: FifoEvent[] = [];
    const done = (async () => {
      for await (const ev of openFifoSource(fifo, ac.signal)) events.push(ev);
    })();
    const probe = `
import errno, os, sys
try:
    os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)); print('reader present')
except OSError as e:
    print('no reader' if e.errno == errno.ENXIO else repr(e))`;
    const before = writer(probe, fifo);
    await before.exit;
    assert.deepEqual(before.lines, ['reader present']);
    ac.abort();
    await done;
    const afterAbort = writer(probe, fifo);
    await afterAbort.exit;
    assert.deepEqual(afterAbort.lines, ['no reader']);
  });

  it('delivers what was read, then fails, when the pipe vanishes and cannot be reopened', async () => {
    const fifo = await fresh();
    const events = openFifoSource(fifo)[Symbol.asyncIterator]();
    const w = writer(`import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.unlink(sys.argv[1]); os.write(fd, b'x'); os.close(fd)`, fifo);
    assert.equal(await w.exit, 0);
    const first = await within('the data', events.next());
    assert.equal(first.done === false && first.value.type === 'data' && first.value.chunk.toString(), 'x');
    assert.deepEqual(await within('the close', events.next()), { done: false, value: { type: 'writer-closed' } });
    await assert.rejects(within('the failure', events.next()), { name: 'SluiceError', code: 'INTERNAL', message: /cannot open the named pipe .*ENOENT/ });
  });

  it('ends after the last byte once told that every writer is gone', async () => {
    // The writer leaves bytes in the pipe and exits; the consumer is slow (a 1-byte high-water
    // mark), so the bytes are still unread when `end()` is called.
    const fifo = await fresh();
    const source = openFifoSource(fifo, undefined, { highWaterMark: 1 });
    const w = writer(`import sys; f = open(sys.argv[1], 'wb'); f.write(b'x' * 50000); f.flush(); f.write(b'y' * 50000); f.close()`, fifo);
    assert.equal(await w.exit, 0);
    source.end();
    let bytes = 0;
    const seen: string[] = [];
    await within('the end of the iteration', (async () => {
      for await (const ev of source) {
        if (ev.type === 'data') bytes += ev.chunk.length;
        else seen.push('closed');
      }
    })());
    assert.equal(bytes, 100000);
    assert.equal(seen.at(-1), 'closed');
  });

  it('ends at once when the pipe is empty and its last writer closed long ago', async () => {
    // The reader reopened after the writer's close with no writer present: the kernel would
    // report no further hang-up by itself.
    const fifo = await fresh();
    const source = openFifoSource(fifo);
    const events = source[Symbol.asyncIterator]();
    const w = writer(`import sys; open(sys.argv[1], 'wb').write(b'z')`, fifo);
    assert.equal(await w.exit, 0);
    const first = await within('the data', events.next());
    assert.equal(first.done === false && first.value.type === 'data' && first.value.chunk.toString(), 'z');
    assert.deepEqual(await within('the close', events.next()), { done: false, value: { type: 'writer-closed' } });
    source.end();
    assert.deepEqual(await within('the final close', events.next()), { done: false, value: { type: 'writer-closed' } });
    assert.deepEqual(await within('the end', events.next()), { done: true, value: undefined });
  });

  it('refuses a path that is not a named pipe', async () => {
    const file = join(dir, 'regular');
    await writeFile(file, 'x');
    assert.throws(() => openFifoSource(file), { name: 'SluiceError', code: 'INVALID_ARGUMENT' });
  });
});
