/**
 * The PostgreSQL metadata store: the same schema and queries as SQLite (Kysely's Postgres
 * dialect), in a schema of its own (`?schema=` in the URL, default `sluice`).
 *
 * One connection per daemon: transactions then run one at a time, exactly as on SQLite, which is
 * what every transaction in pfs and pps assumes (a branch head is read and moved inside one
 * transaction with nobody else writing). Several daemons sharing one database would need those
 * reads to take row locks (`SELECT … FOR UPDATE` on the branch) — not done yet.
 */
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { SluiceError, wrapError } from '../../errors/index.js';
import { migrate, type Database } from './schema.js';
import { meterLogConfig, type MetadataStore, type MetadataStoreOptions } from './metadata-store.js';

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

// int8 columns hold counters, sizes and times, all far below 2^53: read them as numbers.
pg.types.setTypeParser(20, (v: string) => Number(v));

export async function openPostgresMetadataStore(url: string, opts: MetadataStoreOptions = {}): Promise<MetadataStore> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'sluice';
  if (!SCHEMA_RE.test(schema)) throw new SluiceError('INVALID_ARGUMENT', `invalid PostgreSQL schema name ${JSON.stringify(schema)} in the metadata URL`);
  parsed.searchParams.delete('schema');
  const pool = new pg.Pool({ connectionString: parsed.toString(), max: 1, connectionTimeoutMillis: 5_000 });
  pool.on('connect', (client) => {
    void client.query(`set search_path to ${schema}`);
  });
  // pg reports a dropped idle connection as an error event; the pool replaces it.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await client.query(`create schema if not exists ${schema}`);
      await client.query(`set search_path to ${schema}`);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw wrapError(err, 'UNAVAILABLE', `cannot reach PostgreSQL at ${parsed.host}`);
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...meterLogConfig(opts) });
  await migrate(db, 'postgres');
  return {
    db,
    dialect: 'postgres',
    async close() {
      await db.destroy();
    },
  };
}
