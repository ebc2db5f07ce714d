/**
 * The object-store conformance suite against S3ObjectStore on a real S3-compatible HTTP server
 * (s3rver, started here on a free port; see test/support/s3-server.ts), each test on a fresh key
 * prefix; plus what is particular to S3: multipart packs, the layout of keys, retries.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { isSluiceError } from '../../errors/index.js';
import { startS3Server, type TestS3Server } from '../../../test/support/s3-server.js';
import { runObjectStoreConformance } from './object-store-conformance.js';
import { S3ObjectStore } from './s3-object-store.js';
import { parseObjectsUrl } from './open.js';

const server: TestS3Server = await startS3Server();
after(() => server.stop());

function fresh(options: { partSize?: number } = {}): { store: S3ObjectStore; prefix: string; cleanup: () => Promise<void> } {
  const prefix = `conf-${randomBytes(6).toString('hex')}/`;
  const store = new S3ObjectStore({ bucket: server.bucket, prefix, client: server.clientConfig, ...options });
  return { store, prefix, cleanup: () => server.deletePrefix(prefix) };
}

runObjectStoreConformance('S3ObjectStore (s3rver)', async () => {
  const { store, cleanup } = fresh();
  return { store, cleanup };
});

describe('S3ObjectStore', () => {
  let admin: S3Client;
  before(() => {
    admin = new S3Client(server.clientConfig);
  });
  after(() => admin.destroy());

  it('writes a pack larger than a part as a multipart upload and lists it only once complete', async () => {
    const { store, prefix, cleanup } = fresh({ partSize: 5 * 1024 * 1024 });
    try {
      await store.open();
      const data = randomBytes(17 * 1024 * 1024 + 3);
      const writer = await store.createPackWriter();
      for (let at = 0; at < data.length; at += 1024 * 1024) await writer.append(data.subarray(at, Math.min(data.length, at + 1024 * 1024)));
      const listed = await admin.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix }));
      assert.equal(listed.KeyCount ?? 0, 0, 'nothing is listed before seal');
      await writer.seal();
      const after = await admin.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix }));
      assert.deepEqual((after.Contents ?? []).map((o) => [o.Key, o.Size]), [[`${prefix}packs/${writer.id}.pack`, data.length]]);
      const whole = await admin.send(new GetObjectCommand({ Bucket: server.bucket, Key: `${prefix}packs/${writer.id}.pack` }));
      assert.ok(Buffer.from(await whole.Body!.transformToByteArray()).equals(data));
      const mid = await store.read({ pack: writer.id, offset: 5 * 1024 * 1024 - 10, length: 20 });
      assert.ok(mid.equals(data.subarray(5 * 1024 * 1024 - 10, 5 * 1024 * 1024 + 10)), 'a range across a part border');
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('reports an unreachable endpoint as UNAVAILABLE naming the store', async () => {
    const store = new S3ObjectStore({ bucket: 'nowhere', client: { ...server.clientConfig, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 } });
    await assert.rejects(store.open(), (err) => {
      assert.ok(isSluiceError(err, 'UNAVAILABLE'), String(err));
      assert.match(err.message, /s3:\/\/nowhere\//);
      return true;
    });
    await store.close();
  });

  it('reports a missing bucket as UNAVAILABLE naming it', async () => {
    const store = new S3ObjectStore({ bucket: 'no-such-bucket', client: server.clientConfig });
    await assert.rejects(store.open(), (err) => isSluiceError(err, 'UNAVAILABLE') && /no-such-bucket/.test(err.message));
    await store.close();
  });
});

describe('parseObjectsUrl', () => {
  it('reads bucket, prefix and the query settings', () => {
    const s = parseObjectsUrl('s3://my-bucket/a/b?endpoint=http://127.0.0.1:9000&region=eu-west-1&path-style=true', {});
    assert.equal(s.kind, 's3');
    if (s.kind !== 's3') return;
    assert.equal(s.options.bucket, 'my-bucket');
    assert.equal(s.options.prefix, 'a/b/');
    assert.equal(s.options.client?.endpoint, 'http://127.0.0.1:9000');
    assert.equal(s.options.client?.region, 'eu-west-1');
    assert.equal(s.options.client?.forcePathStyle, true);
  });

  it('takes path-style and region from the environment when the URL does not say', () => {
    const s = parseObjectsUrl('s3://bkt', { AWS_S3_FORCE_PATH_STYLE: 'true', AWS_REGION: 'us-west-2' });
    assert.ok(s.kind === 's3' && s.options.client?.forcePathStyle === true && s.options.client.region === 'us-west-2' && s.options.prefix === '');
  });

  it('reads a plain path as a local folder', () => {
    assert.deepEqual(parseObjectsUrl('/mnt/shared', {}), { kind: 'fs', root: '/mnt/shared' });
  });

  it('refuses a bad URL with a message that says what is wrong', () => {
    for (const bad of ['s3://', 's3:///prefix', 's3://Bad_Bucket/x', 's3://bkt?path-style=maybe', 's3://bkt?color=red', 'gs://bkt/x']) {
      assert.throws(() => parseObjectsUrl(bad, {}), (err) => isSluiceError(err, 'INVALID_ARGUMENT') && err.message.includes(bad.split('?')[0]!.slice(0, 5)), bad);
    }
  });
});
