/**
 * The metadata schema: one Kysely `Database` type and the migration that creates it.
 *
 * What lives here: repos, branches (with provenance), commits (with provenance), staged changes
 * of open commits and uploads, the chunk index (hash -> pack, offset, length), the registry of
 * sealed packs, and the nodes of every commit's tree (immutable, named by SHA-256). Tree nodes
 * live in the metadata store rather than the object store so that finishing a commit writes its
 * new nodes and moves the branch head in one transaction with one fsync (see docs/design/storage.md).
 *
 * The same queries run on SQLite and PostgreSQL; only column types differ in the migration.
 */
import { sql, type Kysely, type Generated } from 'kysely';

export interface ReposTable {
  name: string;
  type: string;
  description: string;
  created_at: number;
}

export interface BranchesTable {
  repo: string;
  name: string;
  head: string | null;
  created_at: number;
  trigger: string | null;
}

export interface BranchProvenanceTable {
  repo: string;
  branch: string;
  from_repo: string;
  from_branch: string;
}

export interface CommitsTable {
  repo: string;
  id: string;
  branch: string;
  parent: string | null;
  origin: string;
  description: string;
  started_at: number;
  finished_at: number | null;
  /** Root node hash of the finished tree; null for an empty tree or an open commit. */
  root: string | null;
  size_bytes: number;
  depth: number;
  /** Monotonic finish order, for `subscribe commit --from`. */
  finish_seq: number | null;
}

export interface CommitProvenanceTable {
  repo: string;
  id: string;
  from_repo: string;
  from_id: string;
}

export interface StagesTable {
  /** `c/<repo>/<commit id>` for an open commit, `u/<upload id>` for an upload session. */
  id: string;
  created_at: number;
  expires_at: number | null;
}

export interface StagedOpsTable {
  seq: Generated<number>;
  stage: string;
  path: string;
  /** 'put' | 'append' | 'delete' */
  op: string;
  /** JSON: for put/append, the file's chunks `[[hash, size], ...]`; null for delete. */
  value: string | null;
}

export interface ChunksTable {
  hash: string;
  pack: string;
  offset: number;
  length: number;
}

export interface PacksTable {
  id: string;
  size_bytes: number;
  created_at: number;
}

export interface NodesTable {
  hash: string;
  data: Uint8Array;
}

export interface CountersTable {
  name: string;
  value: number;
}

export interface Database {
  repos: ReposTable;
  branches: BranchesTable;
  branch_provenance: BranchProvenanceTable;
  commits: CommitsTable;
  commit_provenance: CommitProvenanceTable;
  stages: StagesTable;
  staged_ops: StagedOpsTable;
  chunks: ChunksTable;
  packs: PacksTable;
  nodes: NodesTable;
  counters: CountersTable;
}

export type Dialect = 'sqlite' | 'postgres';

/** Creates every table if missing. Idempotent; run at every start. */
export async function migrate(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  const blob = dialect === 'sqlite' ? 'blob' : 'bytea';
  const int = dialect === 'sqlite' ? 'integer' : 'bigint';
  await db.schema
    .createTable('repos').ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('branches').ifNotExists()
    .addColumn('repo', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('head', 'text')
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('trigger', 'text')
    .addPrimaryKeyConstraint('branches_pk', ['repo', 'name'])
    .execute();
  await db.schema
    .createTable('branch_provenance').ifNotExists()
    .addColumn('repo', 'text', (c) => c.notNull())
    .addColumn('branch', 'text', (c) => c.notNull())
    .addColumn('from_repo', 'text', (c) => c.notNull())
    .addColumn('from_branch', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('branch_provenance_pk', ['repo', 'branch', 'from_repo', 'from_branch'])
    .execute();
  await db.schema.createIndex('branch_provenance_from').ifNotExists().on('branch_provenance').columns(['from_repo', 'from_branch']).execute();
  await db.schema
    .createTable('commits').ifNotExists()
    .addColumn('repo', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('branch', 'text', (c) => c.notNull())
    .addColumn('parent', 'text')
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('started_at', int, (c) => c.notNull())
    .addColumn('finished_at', int)
    .addColumn('root', 'text')
    .addColumn('size_bytes', int, (c) => c.notNull())
    .addColumn('depth', int, (c) => c.notNull())
    .addColumn('finish_seq', int)
    .addPrimaryKeyConstraint('commits_pk', ['repo', 'id'])
    .execute();
  await db.schema.createIndex('commits_by_branch_depth').ifNotExists().on('commits').columns(['repo', 'branch', 'depth']).execute();
  await db.schema.createIndex('commits_by_parent').ifNotExists().on('commits').columns(['repo', 'parent']).execute();
  await db.schema.createIndex('commits_by_id').ifNotExists().on('commits').column('id').execute();
  await db.schema.createIndex('commits_by_finish').ifNotExists().on('commits').columns(['repo', 'finish_seq']).execute();
  await db.schema
    .createTable('commit_provenance').ifNotExists()
    .addColumn('repo', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('from_repo', 'text', (c) => c.notNull())
    .addColumn('from_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('commit_provenance_pk', ['repo', 'id', 'from_repo', 'from_id'])
    .execute();
  await db.schema.createIndex('commit_provenance_from').ifNotExists().on('commit_provenance').columns(['from_repo', 'from_id']).execute();
  await db.schema
    .createTable('stages').ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('expires_at', int)
    .execute();
  await db.schema
    .createTable('staged_ops').ifNotExists()
    .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('op', 'text', (c) => c.notNull())
    .addColumn('value', 'text')
    .execute();
  await db.schema.createIndex('staged_ops_by_stage').ifNotExists().on('staged_ops').columns(['stage', 'seq']).execute();
  await db.schema
    .createTable('chunks').ifNotExists()
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('pack', 'text', (c) => c.notNull())
    .addColumn('offset', int, (c) => c.notNull())
    .addColumn('length', int, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('chunks_by_pack').ifNotExists().on('chunks').column('pack').execute();
  await db.schema
    .createTable('packs').ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('size_bytes', int, (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('nodes').ifNotExists()
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('data', blob, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('counters').ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', int, (c) => c.notNull())
    .execute();
  await sql`insert into counters (name, value) values ('finish_seq', 0) on conflict (name) do nothing`.execute(db);
}
