/**
 * The metadata store interface. Implementations differ only in dialect: the pfs layer writes
 * its queries once with Kysely and runs them on SQLite (embedded default) or PostgreSQL.
 * A transaction (`db.transaction().execute(fn)`) is the unit of atomicity for every change of
 * visible state: branch heads, commits, staged changes and the chunk index.
 */
import type { Kysely } from 'kysely';
import type { Database, Dialect } from './schema.js';

export interface MetadataStore {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

export type { Database, Dialect } from './schema.js';
