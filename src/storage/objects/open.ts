/**
 * `openObjectStore(spec)`: the one place that turns the daemon's `--objects` setting (or
 * SLUICE_OBJECTS) into an ObjectStore. The result is not opened yet.
 *
 *   (unset)                     <data-dir>/objects, the embedded default
 *   /some/dir, ./dir            a local folder (may be shared by several daemons on one host)
 *   s3://BUCKET[/PREFIX][?k=v]  an S3-compatible bucket, keys under PREFIX/
 *
 * S3 settings come the way the AWS SDK takes them: AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3),
 * AWS_REGION, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity,
 * instance metadata, ... (the SDK's default chain). The URL's query may override: `endpoint=`,
 * `region=`, `path-style=true|false` (path-style addressing, `http://host/bucket/key`, which most
 * S3-compatible servers need; also AWS_S3_FORCE_PATH_STYLE=true), `max-attempts=N` (retries of
 * each request, default 5). The region defaults to us-east-1 when nothing names one.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { SluiceError } from '../../errors/index.js';
import { FsObjectStore } from './fs-object-store.js';
import type { ObjectStore } from './object-store.js';
import type { S3ObjectStoreOptions } from './s3-object-store.js';

export type ObjectsSpec = { kind: 'fs'; root: string } | { kind: 's3'; url: string; options: S3ObjectStoreOptions };

// S3's rules for bucket names (lower case, digits, dots, hyphens; 3-63).
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const QUERY_KEYS = new Set(['endpoint', 'region', 'path-style', 'max-attempts']);

function bool(value: string, what: string, url: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new SluiceError('INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(value)} in object store ${url}: use true or false`);
}

/** Parses an `--objects` value; a relative folder is taken from the current directory. */
export function parseObjectsUrl(value: string, env: Record<string, string | undefined>): ObjectsSpec {
  if (value === '') throw new SluiceError('INVALID_ARGUMENT', 'empty object store setting: use a folder or s3://BUCKET/PREFIX');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return { kind: 'fs', root: isAbsolute(value) ? value : resolve(value) };
  if (!value.startsWith('s3://')) {
    throw new SluiceError('INVALID_ARGUMENT', `unknown object store ${JSON.stringify(value)}: use a folder or s3://BUCKET/PREFIX`);
  }
  const [rest = '', query] = value.slice('s3://'.length).split('?', 2) as [string, string | undefined];
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET_RE.test(bucket)) {
    throw new SluiceError('INVALID_ARGUMENT', `invalid bucket name ${JSON.stringify(bucket)} in object store ${value}: 3-63 lower-case letters, digits, dots or hyphens`);
  }
  const params = new URLSearchParams(query ?? '');
  for (const k of params.keys()) {
    if (!QUERY_KEYS.has(k)) throw new SluiceError('INVALID_ARGUMENT', `unknown setting ${JSON.stringify(k)} in object store ${value}: known are ${[...QUERY_KEYS].join(', ')}`);
  }
  const client: NonNullable<S3ObjectStoreOptions['client']> = {
    region: params.get('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
  };
  const endpoint = params.get('endpoint');
  if (endpoint !== null) {
    try {
      new URL(endpoint);
    } catch {
      throw new SluiceError('INVALID_ARGUMENT', `invalid endpoint ${JSON.stringify(endpoint)} in object store ${value}: expected a URL such as http://127.0.0.1:9000`);
    }
    client.endpoint = endpoint;
  }
  const pathStyle = params.get('path-style') ?? env.AWS_S3_FORCE_PATH_STYLE;
  if (pathStyle !== undefined && pathStyle !== '') client.forcePathStyle = bool(pathStyle, 'path-style', value);
  const attempts = params.get('max-attempts');
  if (attempts !== null) {
    if (!/^\d{1,2}$/.test(attempts) || Number(attempts) < 1) throw new SluiceError('INVALID_ARGUMENT', `invalid max-attempts ${JSON.stringify(attempts)} in object store ${value}: 1-99`);
    client.maxAttempts = Number(attempts);
  }
  const normalized = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  return { kind: 's3', url: `s3://${bucket}/${normalized}`, options: { bucket, prefix: normalized, client } };
}

/**
 * The object store for a daemon: `spec` is the `--objects` value (undefined: `<dataDir>/objects`).
 * The S3 client library is loaded only when an S3 store is asked for.
 */
export async function openObjectStore(spec: string | undefined, dataDir: string, env: Record<string, string | undefined> = process.env): Promise<ObjectStore> {
  const parsed: ObjectsSpec = spec === undefined ? { kind: 'fs', root: join(dataDir, 'objects') } : parseObjectsUrl(spec, env);
  if (parsed.kind === 'fs') return new FsObjectStore(parsed.root);
  const { S3ObjectStore } = await import('./s3-object-store.js');
  return new S3ObjectStore(parsed.options);
}

/** For messages: where the objects are. */
export function describeObjects(spec: string | undefined, dataDir: string): string {
  if (spec === undefined) return join(dataDir, 'objects');
  const parsed = parseObjectsUrl(spec, {});
  return parsed.kind === 'fs' ? parsed.root : parsed.url;
}
