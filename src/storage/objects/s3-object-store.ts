/**
 * `S3ObjectStore`: the object store in an S3-compatible bucket, for deployments past one machine.
 *
 * Layout under `s3://<bucket>/<prefix>`:
 *   <prefix>packs/<id>.pack    sealed packs: immutable, listed
 *
 * A pack being written lives only in this process (its current part in memory) and, once it
 * outgrows one part, as an S3 multipart upload, which S3 never lists as an object. `seal()`
 * resolves only after S3 has answered PutObject (packs of one part) or CompleteMultipartUpload
 * with success: from then on the object is durable and listed, so the pfs layer may name its
 * chunks in a metadata transaction (DESIGN.md invariant 1). A crash before that leaves at most an
 * incomplete multipart upload, invisible to readers; `open()` aborts those older than
 * `staleUploadMs` (a bucket lifecycle rule `AbortIncompleteMultipartUpload` does the same job on
 * AWS).
 *
 * Multipart uploads are written here on `@aws-sdk/client-s3` rather than with
 * `@aws-sdk/lib-storage`: that library's `abort()` returns before the upload is aborted (its
 * `done()` races an abort signal), and `PackWriter.abort()` promises that nothing is left behind.
 * Every request is retried by the SDK (`retryMode: 'standard'`: exponential backoff with jitter,
 * `maxAttempts`, throttling and 5xx errors); parts are Buffers, so a retried part is re-sent whole.
 *
 * Reads are ranged GETs (`Range: bytes=a-b`); a missing object or a range past its end is
 * PFS_CORRUPT naming the pack, as the conformance suite requires.
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { SluiceError, wrapError } from '../../errors/index.js';
import type { ChunkLocation, ObjectStore, PackInfo, PackWriter } from './object-store.js';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix; '' or ending in '/' ("a/b" is read as "a/b/"). */
  prefix?: string;
  /** Passed to `new S3Client`: endpoint, region, forcePathStyle, credentials, retries. */
  client?: S3ClientConfig;
  /** Size of a multipart part (S3's minimum is 5 MiB). Default 8 MiB: packs up to ~80 GB. */
  partSize?: number;
  /** Parts of one pack uploaded at once. Default 4. */
  queueSize?: number;
  /** Incomplete multipart uploads older than this are aborted by `open()`. Default 1 hour. */
  staleUploadMs?: number;
}

const PACK_ID_RE = /^[0-9a-f]{32}$/;
const PACK_KEY_RE = /^([0-9a-f]{32})\.pack$/;
const MIN_PART = 5 * 1024 * 1024;

/**
 * The SDK prints a warning on Node 20 about its releases after January 2027; the versions pinned
 * here run on Node 20 (see package.json), so the warning only clutters the daemon's stderr.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function newPackId(): string {
  return randomBytes(16).toString('hex');
}

/** The S3 error name (`NoSuchKey`, `InvalidRange`, ...) or HTTP status of an SDK error. */
function s3ErrorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err && typeof err.name === 'string' ? err.name : undefined;
}

function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return undefined;
  const meta = err.$metadata as { httpStatusCode?: number } | undefined;
  return meta?.httpStatusCode;
}

function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly staleUploadMs: number;
  private state: 'new' | 'open' | 'closed' = 'new';
  private readonly writers = new Set<S3PackWriter>();

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = normalizePrefix(options.prefix);
    this.partSize = Math.max(MIN_PART, options.partSize ?? 8 * 1024 * 1024);
    this.queueSize = Math.max(1, options.queueSize ?? 4);
    this.staleUploadMs = Math.max(0, options.staleUploadMs ?? 60 * 60 * 1000);
    this.client = new S3Client({ retryMode: 'standard', maxAttempts: 5, ...options.client });
  }

  /** `s3://bucket/prefix`, for messages. */
  get url(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  /**
   * Checks that the bucket answers, then removes unsealed packs: those this process is still
   * writing (their `seal()` then fails, as with the local folder) and incomplete multipart
   * uploads under the prefix older than `staleUploadMs` (left by a crash). Servers that do not
   * implement ListMultipartUploads (s3rver) skip the second part.
   */
  async open(): Promise<{ removedTemp: number }> {
    if (this.state === 'closed') throw new SluiceError('INTERNAL', `object store ${this.url} is closed`);
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      throw wrapError(err, 'UNAVAILABLE', `cannot open object store ${this.url}: ${describeS3Error(err)}`);
    }
    let removed = 0;
    const live = new Set<string>();
    for (const w of [...this.writers]) {
      if (w.uploadId !== undefined) live.add(w.uploadId);
      await w.abort();
      removed++;
    }
    removed += await this.abortStaleUploads(live);
    this.state = 'open';
    return { removedTemp: removed };
  }

  async createPackWriter(): Promise<PackWriter> {
    this.assertOpen();
    const writer = new S3PackWriter(this, newPackId(), this.partSize, this.queueSize, () => this.writers.delete(writer));
    this.writers.add(writer);
    return writer;
  }

  async read(loc: ChunkLocation): Promise<Buffer> {
    this.assertOpen();
    const { pack, offset, length } = loc;
    if (!PACK_ID_RE.test(pack) || !Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new SluiceError('PFS_CORRUPT', `invalid chunk location: pack ${JSON.stringify(pack)}, offset ${offset}, length ${length}`, {
        details: { pack, offset, length },
      });
    }
    const key = this.packKey(pack);
    const short = (end: number, cause?: unknown): SluiceError =>
      new SluiceError('PFS_CORRUPT', `pack ${pack} is short: wanted ${length} bytes at offset ${offset}, the pack ends after ${end}`, {
        details: { pack, offset, length },
        ...(cause !== undefined ? { cause } : {}),
      });
    if (length === 0) {
      // An empty range cannot be asked for with Range; check that the pack exists and is long enough.
      let size: number;
      try {
        size = (await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))).ContentLength ?? 0;
      } catch (err) {
        throw this.readError(pack, err);
      }
      if (offset > size) throw short(size);
      return Buffer.alloc(0);
    }
    let body: Uint8Array;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }));
      if (res.Body === undefined) throw new SluiceError('INTERNAL', `S3 returned no body for pack ${pack}`);
      body = await res.Body.transformToByteArray();
    } catch (err) {
      if (s3ErrorName(err) === 'InvalidRange' || httpStatus(err) === 416) throw short(offset, err);
      throw this.readError(pack, err);
    }
    if (body.length < length) throw short(offset + body.length);
    const out = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return out.length === length ? out : out.subarray(0, length);
  }

  async *listPacks(): AsyncIterable<string> {
    for await (const info of this.listPackInfos()) yield info.id;
  }

  async *listPackInfos(): AsyncIterable<PackInfo> {
    this.assertOpen();
    const prefix = `${this.prefix}packs/`;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) }));
      } catch (err) {
        throw wrapError(err, 'UNAVAILABLE', `cannot list packs in ${this.url}: ${describeS3Error(err)}`);
      }
      for (const obj of page.Contents ?? []) {
        const m = PACK_KEY_RE.exec((obj.Key ?? '').slice(prefix.length));
        if (m !== null) yield { id: m[1] as string, size: obj.Size ?? 0, modifiedAt: obj.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Removes a sealed pack. S3 answers a delete of a missing key with success, so a retry is fine. */
  async deletePack(id: string): Promise<void> {
    this.assertOpen();
    if (!PACK_ID_RE.test(id)) throw new SluiceError('INVALID_ARGUMENT', `invalid pack id ${JSON.stringify(id)}`, { details: { pack: id } });
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.packKey(id) }));
    } catch (err) {
      if (s3ErrorName(err) === 'NoSuchKey') return;
      throw wrapError(err, 'UNAVAILABLE', `cannot delete pack ${id} from ${this.url}: ${describeS3Error(err)}`);
    }
  }

  /** Drops packs still being written, then closes the client's sockets. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await Promise.allSettled([...this.writers].map((w) => w.abort()));
    this.client.destroy();
  }

  packKey(id: string): string {
    return `${this.prefix}packs/${id}.pack`;
  }

  private readError(pack: string, err: unknown): SluiceError {
    if (err instanceof SluiceError) return err;
    const name = s3ErrorName(err);
    if (name === 'NoSuchKey' || name === 'NotFound' || httpStatus(err) === 404) {
      return new SluiceError('PFS_CORRUPT', `pack ${pack} is missing from ${this.url}`, { details: { pack }, cause: err });
    }
    return wrapError(err, 'UNAVAILABLE', `cannot read pack ${pack} from ${this.url}: ${describeS3Error(err)}`);
  }

  private async abortStaleUploads(live: Set<string>): Promise<number> {
    let removed = 0;
    const cutoff = Date.now() - this.staleUploadMs;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: `${this.prefix}packs/`,
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
        }));
      } catch (err) {
        if (s3ErrorName(err) === 'NotImplemented' || httpStatus(err) === 501) return removed;
        throw wrapError(err, 'UNAVAILABLE', `cannot list incomplete uploads in ${this.url}: ${describeS3Error(err)}`);
      }
      for (const u of page.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined || live.has(u.UploadId)) continue;
        if ((u.Initiated?.getTime() ?? 0) > cutoff) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId })).catch(() => undefined);
        removed++;
      }
      if (page.IsTruncated !== true) return removed;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new SluiceError('INTERNAL', `object store ${this.url} is ${this.state === 'new' ? 'not open yet' : 'closed'}`);
  }
}

/** A short reason for messages: the S3 error code and HTTP status, or the network error. */
export function describeS3Error(err: unknown): string {
  const name = s3ErrorName(err);
  const status = httpStatus(err);
  const msg = err instanceof Error ? err.message : String(err);
  return [name, status !== undefined ? `HTTP ${status}` : undefined, msg].filter((s) => s !== undefined && s !== '').join(': ');
}

type WriterState = 'open' | 'sealing' | 'sealed' | 'aborted' | 'failed';

/**
 * Appends are copied into the current part buffer; a full part is sent as an UploadPart (the
 * multipart upload is created with the first full part). At most `queueSize` parts are in flight:
 * the append that would exceed that waits, which paces a fast producer and bounds memory to
 * about (queueSize + 1) parts.
 */
class S3PackWriter implements PackWriter {
  readonly id: string;
  private readonly key: string;
  private state: WriterState = 'open';
  private appended = 0;
  private part: Buffer;
  private partFill = 0;
  private partNumber = 0;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private creating: Promise<string> | undefined;
  uploadId: string | undefined;
  private failure: SluiceError | undefined;
  private sealing: Promise<void> | undefined;
  private aborting: Promise<void> | undefined;

  constructor(
    private readonly store: S3ObjectStore,
    id: string,
    private readonly partSize: number,
    private readonly queueSize: number,
    private readonly onDone: () => void,
  ) {
    this.id = id;
    this.key = store.packKey(id);
    this.part = Buffer.allocUnsafe(partSize);
  }

  get size(): number {
    return this.appended;
  }

  /** The offset is assigned at call time, so appends that are not awaited keep their call order. */
  append(data: Uint8Array): Promise<number> {
    if (this.state !== 'open') return Promise.reject(this.notWritable('append to'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const offset = this.appended;
    this.appended += data.length;
    let done = 0;
    const waits: Promise<void>[] = [];
    while (done < data.length) {
      const n = Math.min(data.length - done, this.partSize - this.partFill);
      this.part.set(data.subarray(done, done + n), this.partFill);
      this.partFill += n;
      done += n;
      if (this.partFill === this.partSize) waits.push(this.sendPart());
    }
    if (waits.length === 0) return Promise.resolve(offset);
    return Promise.all(waits).then(() => offset);
  }

  seal(): Promise<void> {
    if (this.sealing !== undefined) return this.sealing;
    if (this.state !== 'open') return Promise.reject(this.notWritable('seal'));
    this.state = 'sealing';
    this.sealing = this.doSeal();
    return this.sealing;
  }

  abort(): Promise<void> {
    this.aborting ??= this.doAbort();
    return this.aborting;
  }

  /** Sends the full current part; resolves when there is room for another part in flight. */
  private async sendPart(): Promise<void> {
    const body = this.part.subarray(0, this.partFill);
    this.part = Buffer.allocUnsafe(this.partSize);
    this.partFill = 0;
    const partNumber = ++this.partNumber;
    const upload = this.uploadPart(partNumber, body);
    this.inFlight.add(upload);
    void upload.catch(() => undefined).finally(() => this.inFlight.delete(upload));
    while (this.inFlight.size >= this.queueSize) await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  private async uploadPart(partNumber: number, body: Buffer): Promise<void> {
    try {
      this.creating ??= this.store.client
        .send(new CreateMultipartUploadCommand({ Bucket: this.store.bucket, Key: this.key }))
        .then((r) => {
          if (r.UploadId === undefined) throw new SluiceError('INTERNAL', `S3 gave no upload id for pack ${this.id}`);
          this.uploadId = r.UploadId;
          return r.UploadId;
        });
      const uploadId = await this.creating;
      if (this.state === 'aborted' || this.state === 'failed') throw this.notWritable('upload a part of');
      const res = await this.store.client.send(new UploadPartCommand({ Bucket: this.store.bucket, Key: this.key, UploadId: uploadId, PartNumber: partNumber, Body: body }));
      this.parts.push({ PartNumber: partNumber, ETag: res.ETag });
    } catch (err) {
      this.failure ??= err instanceof SluiceError ? err : wrapError(err, 'UNAVAILABLE', `cannot write pack ${this.id} to ${this.store.url}: ${describeS3Error(err)}`);
      throw this.failure;
    }
  }

  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    if (this.creating !== undefined) await this.creating.catch(() => undefined);
  }

  private async doSeal(): Promise<void> {
    try {
      if (this.partNumber === 0) {
        // One part or less: a single PUT, which is atomic and durable when it returns.
        await this.store.client.send(new PutObjectCommand({ Bucket: this.store.bucket, Key: this.key, Body: this.part.subarray(0, this.partFill) }));
      } else {
        if (this.partFill > 0) void this.sendPart().catch(() => undefined);
        await this.settle();
        if (this.failure !== undefined) throw this.failure;
        const parts = [...this.parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
        await this.store.client.send(new CompleteMultipartUploadCommand({
          Bucket: this.store.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: parts },
        }));
      }
      this.state = 'sealed';
      this.part = Buffer.alloc(0);
      this.onDone();
    } catch (err) {
      this.state = 'failed';
      throw err instanceof SluiceError ? err : wrapError(err, 'UNAVAILABLE', `cannot seal pack ${this.id} in ${this.store.url}: ${describeS3Error(err)}`);
    }
  }

  private async doAbort(): Promise<void> {
    if (this.sealing !== undefined) await this.sealing.catch(() => undefined);
    if (this.state === 'sealed') return;
    this.state = 'aborted';
    this.part = Buffer.alloc(0);
    this.partFill = 0;
    await this.settle();
    if (this.uploadId !== undefined) {
      await this.store.client.send(new AbortMultipartUploadCommand({ Bucket: this.store.bucket, Key: this.key, UploadId: this.uploadId })).catch(() => undefined);
    }
    this.onDone();
  }

  private notWritable(action: string): SluiceError {
    return new SluiceError('INTERNAL', `cannot ${action} pack ${this.id}: it is ${this.state}`, { details: { pack: this.id } });
  }
}
