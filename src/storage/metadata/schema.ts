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
  /** The garbage collection that found this chunk unnamed and may delete it (src/pfs/gc.ts); null when live. */
  condemned: number | null;
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

export interface PipelinesTable {
  name: string;
  version: number;
  /** The normalized spec of the current version, JSON. */
  spec: string;
  spec_commit: string;
  state: string;
  reason: string;
  stopped: number;
  /** Changes on create and on `update --reprocess`; part of every datum hash. */
  salt: string;
  created_at: number;
  updated_at: number;
  /** finish_seq of the last input commit turned into a job (jobs are made exactly once). */
  input_seq: number;
}

export interface PipelineVersionsTable {
  name: string;
  version: number;
  spec: string;
  spec_commit: string;
  created_at: number;
}

export interface JobsTable {
  pipeline: string;
  id: string;
  pipeline_version: number;
  state: string;
  reason: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** JSON array of {repo, id}. */
  inputs: string;
  output_commit: string | null;
  restart: number;
  total: number;
  processed: number;
  skipped: number;
  failed: number;
  recovered: number;
  bytes_downloaded: number;
  bytes_uploaded: number;
  /** Order of creation, for the per-pipeline queue. */
  seq: number;
}

export interface DatumsTable {
  pipeline: string;
  job: string;
  /** Position of the datum in the job; output is assembled in this order. */
  idx: number;
  id: string;
  hash: string;
  state: string;
  /** JSON array of DatumInput. */
  inputs: string;
  attempt: number;
  worker: string | null;
  reason: string;
}

export interface DatumOutputsTable {
  pipeline: string;
  hash: string;
  /** JSON array of [path, {s, c}] written by the datum. */
  files: string;
  bytes: number;
}

export interface LogsTable {
  seq: Generated<number>;
  pipeline: string;
  job: string | null;
  datum: string | null;
  worker: string | null;
  ts: number;
  stream: string;
  message: string;
}

// ---- auth (owned by src/auth) ----
export interface AuthStateTable {
  /** Always 1: one row. */
  id: number;
  active: number;
  activated_at: number | null;
}

export interface AuthTokensTable {
  /** SHA-256 (hex) of the token; the token itself is never stored. */
  hash: string;
  principal: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface AuthBindingsTable {
  /** `cluster` or `repo:<name>`. */
  resource: string;
  principal: string;
  role: string;
}

export interface AuthUploadsTable {
  upload_id: string;
  /** The principal that created the upload; '' when auth was off and no token was sent. */
  principal: string;
  created_at: number;
}
// ---- end auth ----

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
  pipelines: PipelinesTable;
  pipeline_versions: PipelineVersionsTable;
  jobs: JobsTable;
  datums: DatumsTable;
  datum_outputs: DatumOutputsTable;
  logs: LogsTable;
  auth_state: AuthStateTable;
  auth_tokens: AuthTokensTable;
  auth_bindings: AuthBindingsTable;
  auth_uploads: AuthUploadsTable;
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
    .addColumn('condemned', int)
    .execute();
  await db.schema.createIndex('chunks_by_pack').ifNotExists().on('chunks').column('pack').execute();
  await addColumnIfMissing(db, dialect, 'chunks', 'condemned', int);
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
  await sql`insert into counters (name, value) values ('job_seq', 0) on conflict (name) do nothing`.execute(db);
  await migratePps(db, dialect);
  await migrateAuth(db, dialect);
}

/** Adds a nullable column to a table made by an older version (CREATE TABLE IF NOT EXISTS keeps the old shape). */
async function addColumnIfMissing(db: Kysely<Database>, dialect: Dialect, table: string, column: string, type: string): Promise<void> {
  if (dialect === 'postgres') {
    await sql`alter table ${sql.table(table)} add column if not exists ${sql.ref(column)} ${sql.raw(type)}`.execute(db);
    return;
  }
  const cols = await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db);
  if (!cols.rows.some((c) => c.name === column)) await sql`alter table ${sql.table(table)} add column ${sql.ref(column)} ${sql.raw(type)}`.execute(db);
}

// ---- auth (owned by src/auth) ----
async function migrateAuth(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  const int = dialect === 'sqlite' ? 'integer' : 'bigint';
  await db.schema
    .createTable('auth_state').ifNotExists()
    .addColumn('id', int, (c) => c.primaryKey())
    .addColumn('active', int, (c) => c.notNull())
    .addColumn('activated_at', int)
    .execute();
  await sql`insert into auth_state (id, active, activated_at) values (1, 0, null) on conflict (id) do nothing`.execute(db);
  await db.schema
    .createTable('auth_tokens').ifNotExists()
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('expires_at', int)
    .addColumn('revoked_at', int)
    .execute();
  await db.schema.createIndex('auth_tokens_by_principal').ifNotExists().on('auth_tokens').column('principal').execute();
  await db.schema
    .createTable('auth_bindings').ifNotExists()
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('auth_bindings_pk', ['resource', 'principal'])
    .execute();
  await db.schema.createIndex('auth_bindings_by_principal').ifNotExists().on('auth_bindings').column('principal').execute();
  await db.schema
    .createTable('auth_uploads').ifNotExists()
    .addColumn('upload_id', 'text', (c) => c.primaryKey())
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('auth_uploads_by_created').ifNotExists().on('auth_uploads').column('created_at').execute();
}
// ---- end auth ----

async function migratePps(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  const int = dialect === 'sqlite' ? 'integer' : 'bigint';
  await db.schema
    .createTable('pipelines').ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('version', int, (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('spec_commit', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('stopped', int, (c) => c.notNull())
    .addColumn('salt', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('updated_at', int, (c) => c.notNull())
    .addColumn('input_seq', int, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('pipeline_versions').ifNotExists()
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', int, (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('spec_commit', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('pipeline_versions_pk', ['name', 'version'])
    .execute();
  await db.schema
    .createTable('jobs').ifNotExists()
    .addColumn('pipeline', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('pipeline_version', int, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', int, (c) => c.notNull())
    .addColumn('started_at', int)
    .addColumn('finished_at', int)
    .addColumn('inputs', 'text', (c) => c.notNull())
    .addColumn('output_commit', 'text')
    .addColumn('restart', int, (c) => c.notNull())
    .addColumn('total', int, (c) => c.notNull())
    .addColumn('processed', int, (c) => c.notNull())
    .addColumn('skipped', int, (c) => c.notNull())
    .addColumn('failed', int, (c) => c.notNull())
    .addColumn('recovered', int, (c) => c.notNull())
    .addColumn('bytes_downloaded', int, (c) => c.notNull())
    .addColumn('bytes_uploaded', int, (c) => c.notNull())
    .addColumn('seq', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('jobs_pk', ['pipeline', 'id'])
    .execute();
  await db.schema.createIndex('jobs_by_state').ifNotExists().on('jobs').columns(['pipeline', 'state', 'seq']).execute();
  await db.schema
    .createTable('datums').ifNotExists()
    .addColumn('pipeline', 'text', (c) => c.notNull())
    .addColumn('job', 'text', (c) => c.notNull())
    .addColumn('idx', int, (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('inputs', 'text', (c) => c.notNull())
    .addColumn('attempt', int, (c) => c.notNull())
    .addColumn('worker', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('datums_pk', ['pipeline', 'job', 'idx'])
    .execute();
  await db.schema.createIndex('datums_by_state').ifNotExists().on('datums').columns(['pipeline', 'job', 'state', 'idx']).execute();
  await db.schema
    .createTable('datum_outputs').ifNotExists()
    .addColumn('pipeline', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('files', 'text', (c) => c.notNull())
    .addColumn('bytes', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('datum_outputs_pk', ['pipeline', 'hash'])
    .execute();
  await db.schema
    .createTable('logs').ifNotExists()
    .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn('pipeline', 'text', (c) => c.notNull())
    .addColumn('job', 'text')
    .addColumn('datum', 'text')
    .addColumn('worker', 'text')
    .addColumn('ts', int, (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('logs_by_pipeline').ifNotExists().on('logs').columns(['pipeline', 'seq']).execute();
}
