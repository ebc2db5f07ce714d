/**
 * The metadata store interface. Implementations differ only in dialect: the pfs layer writes
 * its queries once with Kysely and runs them on SQLite (embedded default) or PostgreSQL.
 * A transaction (`db.transaction().execute(fn)`) is the unit of atomicity for every change of
 * visible state: branch heads, commits, staged changes and the chunk index.
 */
import type { Kysely, LogEvent } from 'kysely';
import type { MetadataOp, StorageMeter } from '../../lib/meter.js';
import type { Database, Dialect } from './schema.js';

export interface MetadataStore {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

export type { Database, Dialect } from './schema.js';

/** How a store is opened: a meter told about every query (operation, seconds, outcome). */
export interface MetadataStoreOptions {
  meter?: StorageMeter;
}

const OPS: Readonly<Record<string, MetadataOp>> = {
  SelectQueryNode: 'select', InsertQueryNode: 'insert', UpdateQueryNode: 'update', DeleteQueryNode: 'delete',
};

/**
 * The part of Kysely's config that tells the meter about every query (Kysely times each one and
 * calls `log`); empty without a meter, so Kysely then times nothing.
 */
export function meterLogConfig(opts: MetadataStoreOptions): { log?: (e: LogEvent) => void } {
  const meter = opts.meter;
  if (meter === undefined) return {};
  return { log: (e) => meter.metadataQuery(OPS[e.query.query.kind] ?? 'other', e.queryDurationMillis / 1000, e.level === 'query') };
}
