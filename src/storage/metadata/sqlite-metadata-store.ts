/**
 * The embedded metadata store: one SQLite file in WAL mode with `synchronous=FULL`, so a
 * transaction that has returned survives kill -9 and power loss. All access goes through Kysely;
 * the SQLite dialect serialises connections with a mutex, so every transaction is exclusive.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
import { Lru } from '../../lib/lru.js';
import { wrapError } from '../../errors/index.js';
import { migrate, type Database } from './schema.js';
import { meterLogConfig, type MetadataStore, type MetadataStoreOptions } from './metadata-store.js';

export async function openSqliteMetadataStore(file: string, opts: MetadataStoreOptions = {}): Promise<MetadataStore> {
  let raw: BetterSqlite3.Database;
  try {
    raw = new BetterSqlite3(file);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL');
    raw.pragma('busy_timeout = 5000');
    // Tree nodes and chunk rows are read constantly; a larger page cache avoids re-reading them.
    raw.pragma('cache_size = -65536');
  } catch (err) {
    throw wrapError(err, 'UNAVAILABLE', `cannot open metadata database ${file}`);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }), ...meterLogConfig(opts) });
  await migrate(db, 'sqlite');
  return {
    db,
    dialect: 'sqlite',
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Kysely's SQLite driver prepares every query afresh; preparing costs more than running most of
 * our statements. The same SQL text is prepared once and reused (statements are run to
 * completion one at a time on the single connection, so a cached one is never busy).
 */
function withStatementCache(raw: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Lru<string, BetterSqlite3.Statement>(1_000);
  return {
    close: () => raw.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt === undefined) {
        stmt = raw.prepare(sql);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}
