/**
 * Commit rows: resolving refs (branch, id, `branch=id`, ancestry), turning rows into
 * `CommitInfo`, and the one transaction-level routine that finishes a commit from staged
 * operations. Every function takes the executor it must run on (the database or the caller's
 * transaction).
 */
import type { Selectable } from 'kysely';
import type { CommitInfo, CommitOrigin, CommitRef } from '../api/types.js';
import { SluiceError } from '../errors/index.js';
import { parseRef } from '../lib/address.js';
import { isCommitId } from '../lib/names.js';
import type { CommitsTable } from '../storage/metadata/schema.js';
import { commitStage, type Exec, type PfsContext } from './context.js';
import { buildTree, type BuiltTree, type StagedOp } from './tree-builder.js';
import type { FileValue } from './entries.js';

export type CommitRow = Selectable<CommitsTable>;

export async function requireRepo(exec: Exec, repo: string): Promise<void> {
  const row = await exec.selectFrom('repos').select('name').where('name', '=', repo).executeTakeFirst();
  if (row === undefined) throw new SluiceError('PFS_REPO_NOT_FOUND', `repo ${repo} not found`, { details: { repo } });
}

export async function getCommitRow(exec: Exec, repo: string, id: string): Promise<CommitRow | undefined> {
  return exec.selectFrom('commits').selectAll().where('repo', '=', repo).where('id', '=', id).executeTakeFirst();
}

export async function requireCommitRow(exec: Exec, repo: string, id: string): Promise<CommitRow> {
  const row = await getCommitRow(exec, repo, id);
  if (row === undefined) throw new SluiceError('PFS_COMMIT_NOT_FOUND', `commit ${repo}@${id} not found`, { details: { repo, commit: id } });
  return row;
}

/**
 * Resolves `ref` in `repo` to a commit row. A 32-hex ref that names a commit is a commit,
 * otherwise a branch (as pachctl 2.x decides); ancestry suffixes walk parents (`^`, `~N`) or pick
 * the N-th commit of the branch (`.N`).
 */
export async function resolveCommit(exec: Exec, repo: string, ref: string): Promise<CommitRow> {
  await requireRepo(exec, repo);
  const parsed = parseRef(ref);
  let row: CommitRow | undefined;
  if (parsed.commit !== undefined) {
    row = await requireCommitRow(exec, repo, parsed.commit);
  } else {
    if (isCommitId(parsed.base)) row = await getCommitRow(exec, repo, parsed.base);
    if (row === undefined) {
      const branch = await exec.selectFrom('branches').select('head').where('repo', '=', repo).where('name', '=', parsed.base).executeTakeFirst();
      if (branch === undefined) {
        if (isCommitId(parsed.base)) throw new SluiceError('PFS_COMMIT_NOT_FOUND', `commit ${repo}@${parsed.base} not found`, { details: { repo, commit: parsed.base } });
        throw new SluiceError('PFS_BRANCH_NOT_FOUND', `branch ${parsed.base} not found in repo ${repo}`, { details: { repo, branch: parsed.base } });
      }
      if (branch.head === null) throw new SluiceError('PFS_COMMIT_NOT_FOUND', `branch ${repo}@${parsed.base} has no commits`, { details: { repo, branch: parsed.base } });
      row = await requireCommitRow(exec, repo, branch.head);
    }
  }
  for (const step of parsed.ancestry) {
    const target = step.kind === 'parent' ? row.depth - step.n : step.n;
    if (target < 0 || target > row.depth) {
      throw new SluiceError('PFS_COMMIT_NOT_FOUND', `${repo}@${ref}: no such ancestor (the commit has ${row.depth} ancestors)`, { details: { repo, ref } });
    }
    row = await ancestorAtDepth(exec, row, target);
  }
  return row;
}

async function ancestorAtDepth(exec: Exec, from: CommitRow, depth: number): Promise<CommitRow> {
  // Far ancestors (`.0` on a long history) come from the (repo, branch, depth) index, so the
  // cost does not grow with history; it is exact while the branch's commits form one line,
  // which holds unless a branch head was moved by hand onto another lineage.
  if (from.depth - depth > 32) {
    const rows = await exec
      .selectFrom('commits').selectAll()
      .where('repo', '=', from.repo).where('branch', '=', from.branch).where('depth', '=', depth)
      .execute();
    if (rows.length === 1) return rows[0]!;
  }
  let row = from;
  while (row.depth > depth && row.parent !== null) row = await requireCommitRow(exec, row.repo, row.parent);
  return row;
}

export async function commitInfo(ctx: PfsContext, exec: Exec, row: CommitRow): Promise<CommitInfo> {
  const prov = await exec.selectFrom('commit_provenance').select(['from_repo', 'from_id']).where('repo', '=', row.repo).where('id', '=', row.id).execute();
  let size = row.size_bytes;
  if (row.finished_at === null) size = (await viewOpenCommit(ctx, exec, row)).sizeBytes;
  return {
    repo: row.repo,
    id: row.id,
    branch: row.branch,
    parent: row.parent,
    origin: row.origin as CommitOrigin,
    description: row.description,
    started: row.started_at,
    finished: row.finished_at,
    sizeBytes: size,
    provenance: prov.map((p): CommitRef => ({ repo: p.from_repo, id: p.from_id })),
    depth: row.depth,
  };
}

export async function loadStagedOps(exec: Exec, stage: string): Promise<StagedOp[]> {
  const rows = await exec.selectFrom('staged_ops').select(['path', 'op', 'value']).where('stage', '=', stage).orderBy('seq').execute();
  return rows.map((r) => ({
    path: r.path,
    op: r.op as StagedOp['op'],
    value: r.value === null ? null : ({ t: 'f', ...(JSON.parse(r.value) as { s: number; c: Array<[string, number]> }) } as FileValue),
  }));
}

export async function parentRoot(exec: Exec, row: CommitRow): Promise<string | null> {
  if (row.parent === null) return null;
  const parent = await requireCommitRow(exec, row.repo, row.parent);
  if (parent.finished_at === null) {
    throw new SluiceError('PFS_COMMIT_NOT_FINISHED', `parent commit ${row.repo}@${parent.id} is not finished`, { details: { repo: row.repo, commit: parent.id } });
  }
  return parent.root;
}

/** The tree an open commit would have if finished now (nodes kept in memory, nothing written). */
export async function viewOpenCommit(ctx: PfsContext, exec: Exec, row: CommitRow, source: string | StagedOp[] = commitStage(row.repo, row.id)): Promise<BuiltTree> {
  const ops = typeof source === 'string' ? await loadStagedOps(exec, source) : source;
  return buildTree(ctx.nodeReader(exec), await parentRoot(exec, row), ops);
}

export async function nextFinishSeq(exec: Exec): Promise<number> {
  const row = await exec
    .updateTable('counters')
    .set((eb) => ({ value: eb('value', '+', 1) }))
    .where('name', '=', 'finish_seq')
    .returning('value')
    .executeTakeFirstOrThrow();
  return row.value;
}

export async function insertNodes(exec: Exec, nodes: Map<string, Uint8Array>): Promise<void> {
  const rows = [...nodes].map(([hash, data]) => ({ hash, data }));
  // SQLite limits bound parameters per statement; 400 rows x 2 columns stays well inside it.
  for (let i = 0; i < rows.length; i += 400) {
    await exec.insertInto('nodes').values(rows.slice(i, i + 400)).onConflict((oc) => oc.column('hash').doNothing()).execute();
  }
}

/**
 * Finishes an open commit inside the caller's transaction: builds its tree from the parent's
 * and the staged operations, stores the new nodes, and marks it finished. Returns the updated row.
 * `from` takes the operations from another staging area (an upload committed straight into a new
 * commit) or from memory (a one-request put), instead of the commit's own staging rows.
 */
export async function finishCommitTx(ctx: PfsContext, trx: Exec, row: CommitRow, description?: string, from?: string | StagedOp[]): Promise<CommitRow> {
  if (row.finished_at !== null) {
    throw new SluiceError('PFS_COMMIT_FINISHED', `commit ${row.repo}@${row.id} has already been finished`, { details: { repo: row.repo, commit: row.id } });
  }
  const stage = commitStage(row.repo, row.id);
  const built = await viewOpenCommit(ctx, trx, row, from ?? stage);
  await insertNodes(trx, built.newNodes);
  const seq = await nextFinishSeq(trx);
  const finished = ctx.now();
  const desc = description ?? row.description;
  await trx
    .updateTable('commits')
    .set({ finished_at: finished, root: built.root, size_bytes: built.sizeBytes, finish_seq: seq, description: desc })
    .where('repo', '=', row.repo).where('id', '=', row.id)
    .execute();
  await trx.deleteFrom('staged_ops').where('stage', '=', stage).execute();
  await trx.deleteFrom('stages').where('id', '=', stage).execute();
  ctx.afterCommit(trx, () => ctx.meter.commitFinished(row.repo, built.filesWritten, built.bytesWritten));
  return { ...row, finished_at: finished, root: built.root, size_bytes: built.sizeBytes, finish_seq: seq, description: desc };
}
