/**
 * A real S3-compatible HTTP server for tests and benchmarks: s3rver (npm), file-backed, on a free
 * port of 127.0.0.1, with one bucket created. It speaks the S3 REST protocol the AWS SDK sends
 * (SigV4-signed requests, ranged GET, multipart upload, ListObjectsV2); it does not implement
 * ListMultipartUploads, and it keeps objects as plain files without S3's durability.
 *
 * `env` holds what a daemon child process needs to reach it the way the AWS SDK is configured
 * everywhere else (AWS_ENDPOINT_URL, AWS_REGION, static credentials, path-style addressing).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import S3rver from 's3rver';
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface TestS3Server {
  endpoint: string;
  bucket: string;
  /** The store's data folder on disk (for disk-usage checks). */
  dir: string;
  /** Client settings that reach this server. */
  clientConfig: S3ClientConfig;
  /** Environment for a child process (`sluice daemon --objects s3://...`). */
  env: Record<string, string>;
  /** A fresh `s3://bucket/<unique prefix>/` URL. */
  freshUrl(name?: string): string;
  /** Deletes every object under a prefix. */
  deletePrefix(prefix: string): Promise<void>;
  stop(): Promise<void>;
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export async function startS3Server(opts: { dir?: string; bucket?: string } = {}): Promise<TestS3Server> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'sluice-s3rver-')));
  const bucket = opts.bucket ?? 'sluice-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  // s3rver accepts any signature made with its fixed key pair.
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const clientConfig: S3ClientConfig = { endpoint, region: 'us-east-1', forcePathStyle: true, credentials };
  const admin = new S3Client(clientConfig);
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    bucket,
    dir,
    clientConfig,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_S3_FORCE_PATH_STYLE: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    freshUrl(name = 'store') {
      return `s3://${bucket}/${name}-${randomBytes(6).toString('hex')}/`;
    },
    async deletePrefix(prefix: string) {
      let token: string | undefined;
      do {
        const page = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) }));
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key !== undefined ? [{ Key: o.Key }] : []));
        if (keys.length > 0) await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    },
    async stop() {
      admin.destroy();
      await server.close();
      if (opts.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
