/**
 * ArchiveCommitter against an in-memory stand-in for the daemon's upload sessions: where
 * entries go (data or marker, append or overwrite), one commit call per archive carrying the
 * marker upload, a retried commit whose first call went through, uploads dropped on abort and
 * close, and a stop while the daemon has stopped reading a body.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { CommitInfo, CommitRef, CommitUploadResponse } from '../../api/types.js';
import { SluiceError } from '../../errors/index.js';
import type { Body } from '../../client/index.js';
import { DAEMON_RETRY, type RetryPolicy } from '../retry-policy.js';
import { ArchiveCommitter } from './archive-committer.js';
import type { EntryHeader } from './archive-reader.js';
import type { SpoutUpload, SpoutUploadFactory } from './spout-client.js';

const FAST: RetryPolicy = { ...DAEMON_RETRY, initialDelayMs: 1, maxDelayMs: 2, jitter: 0 };

interface Recorded {
  id: string;
  ops: Array<{ op: 'put' | 'append' | 'delete'; path: string; body?: string }>;
  commits: Array<{ repo: string; ref: string; provenance?: CommitRef[]; marker?: { branch: string; upload: string } }>;
  aborted: boolean;
}

function commitInfo(id: string): CommitInfo {
  return { repo: 'r', id, branch: 'master', parent: null, origin: 'USER', description: '', started: 0, finished: 0, sizeBytes: 0, provenance: [], depth: 0 };
}

/** Upload sessions in memory; `hold` makes puts never read their bodies. */
class FakeUploads implements SpoutUploadFactory {
  uploads: Recorded[] = [];
  hold = false;
  commitFailures: Error[] = [];

  async createUpload(): Promise<SpoutUpload> {
    const rec: Recorded = { id: `u${this.uploads.length}`, ops: [], commits: [], aborted: false };
    this.uploads.push(rec);
    const self = this;
    const upload: SpoutUpload = {
      id: rec.id,
      async putTar(_path: string, body: Body, opts?: { append?: boolean }) {
        if (self.hold) return new Promise<never>(() => undefined);
        const extract = tarStream.extract();
        (body as Readable).pipe(extract);
        let files = 0;
        for await (const entry of extract) {
          const chunks: Buffer[] = [];
          for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
          rec.ops.push({ op: opts?.append === true ? 'append' : 'put', path: `/${entry.header.name}`, body: Buffer.concat(chunks).toString() });
          files++;
        }
        return { files, sizeBytes: 0 };
      },
      async deleteFile(path: string) {
        rec.ops.push({ op: 'delete', path });
      },
      async commit(repo: string, ref: string, opts: { provenance?: CommitRef[]; marker?: { branch: string; upload: SpoutUpload } } = {}): Promise<CommitUploadResponse> {
        rec.commits.push({ repo, ref, ...(opts.provenance !== undefined ? { provenance: opts.provenance } : {}), ...(opts.marker !== undefined ? { marker: { branch: opts.marker.branch, upload: opts.marker.upload.id } } : {}) });
        const failure = self.commitFailures.shift();
        if (failure !== undefined) throw failure;
        if (rec.commits.length > 1) throw new SluiceError('PFS_UPLOAD_NOT_FOUND', `upload ${rec.id} not found`);
        return { commit: commitInfo(`c-${rec.id}`), finished: true, ...(opts.marker !== undefined ? { markerCommit: commitInfo(`m-${rec.id}`) } : {}) };
      },
      async abort() {
        rec.aborted = true;
      },
    };
    return upload;
  }
}

function header(path: string, size: number): EntryHeader {
  return { path, name: path.slice(1), type: 'file', size, mode: 0o644, mtime: 0, offset: 0 };
}

async function feed(c: ArchiveCommitter, files: Array<[string, string]>): Promise<void> {
  c.begin();
  for (const [path, body] of files) {
    await c.entryStart(header(path, Buffer.byteLength(body)));
    await c.entryData(Buffer.from(body));
    await c.entryEnd();
  }
}

function committer(uploads: SpoutUploadFactory, over: { marker?: string; overwrite?: boolean; signal?: AbortSignal } = {}): ArchiveCommitter {
  return new ArchiveCommitter({
    uploads, repo: 'r', branch: 'master', provenance: [{ repo: 'r.spec', id: 'spec1' }],
    overwrite: over.overwrite ?? false, marker: over.marker, retry: FAST, signal: over.signal ?? new AbortController().signal,
  });
}

describe('ArchiveCommitter', () => {
  it('sends marker entries to an emptied marker upload and commits data and marker in one call', async () => {
    const fake = new FakeUploads();
    const c = committer(fake, { marker: '/mymark' });
    await feed(c, [['/data', 'd1'], ['/mymark', 'm1'], ['/mymark2', 'not the marker'], ['/mymark/sub', 'm2']]);
    const done = await c.finish();
    assert.equal(done.files, 2);
    assert.equal(done.markerFiles, 2);
    assert.equal(done.commit?.id !== undefined && done.markerCommit?.id !== undefined, true);
    const withCommit = fake.uploads.filter((u) => u.commits.length > 0);
    assert.equal(withCommit.length, 1, 'one commit call per archive');
    const data = withCommit[0]!;
    assert.deepEqual(data.commits[0], { repo: 'r', ref: 'master', provenance: [{ repo: 'r.spec', id: 'spec1' }], marker: { branch: 'marker', upload: data.commits[0]!.marker!.upload } });
    assert.deepEqual(data.ops, [
      { op: 'append', path: '/data', body: 'd1' },
      { op: 'append', path: '/mymark2', body: 'not the marker' },
    ]);
    const marker = fake.uploads.find((u) => u.id === data.commits[0]!.marker!.upload)!;
    assert.deepEqual(marker.ops, [
      { op: 'delete', path: '/' },
      { op: 'put', path: '/mymark', body: 'm1' },
      { op: 'put', path: '/mymark/sub', body: 'm2' },
    ]);
    await c.close();
  });

  it('replaces files with overwrite, and commits an archive of folders only as a change-less commit', async () => {
    const fake = new FakeUploads();
    const c = committer(fake, { overwrite: true });
    await feed(c, [['/a', 'x']]);
    await c.finish();
    c.begin();
    await c.entryStart({ ...header('/dir', 0), type: 'directory' });
    await c.entryEnd();
    const empty = await c.finish();
    assert.equal(empty.files, 0);
    const committed = fake.uploads.filter((u) => u.commits.length > 0);
    assert.equal(committed.length, 2);
    assert.deepEqual(committed[0]!.ops, [{ op: 'put', path: '/a', body: 'x' }]);
    assert.deepEqual(committed[1]!.ops, []);
    await c.close();
  });

  it('counts a commit whose answer was lost, and whose retry finds the upload gone, as committed once', async () => {
    const fake = new FakeUploads();
    fake.commitFailures = [new SluiceError('CLIENT_CONNECTION_FAILED', 'connection reset')];
    const c = committer(fake);
    await feed(c, [['/a', 'x']]);
    const done = await c.finish();
    assert.equal(done.commit, null, 'made by the first call, whose answer was lost');
    const data = fake.uploads.find((u) => u.commits.length > 0)!;
    assert.equal(data.commits.length, 2);
    await c.close();
  });

  it('drops the uploads of a refused commit, of an aborted archive and of those made ahead', async () => {
    const fake = new FakeUploads();
    fake.commitFailures = [new SluiceError('PFS_COMMIT_NOT_FINISHED', 'an open commit is in the way')];
    const c = committer(fake, { marker: '/m' });
    await feed(c, [['/a', 'x'], ['/m', '1']]);
    await assert.rejects(c.finish(), { code: 'PFS_COMMIT_NOT_FINISHED' });
    await feed(c, [['/b', 'y']]);
    c.abort();
    await c.close();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(fake.uploads.filter((u) => !u.aborted).map((u) => u.id), [], 'every upload is aborted');
  });

  it('stops waiting when the worker stops while the daemon has stopped reading', async () => {
    const fake = new FakeUploads();
    fake.hold = true;
    const ac = new AbortController();
    const c = committer(fake, { signal: ac.signal });
    c.begin();
    const big = Buffer.alloc(8 << 20, 1);
    await c.entryStart(header('/big', big.length));
    const writing = c.entryData(big);
    setImmediate(() => ac.abort(new Error('stopping')));
    await assert.rejects(writing, /stopping/);
    c.abort();
    await c.close();
  });
});
