/**
 * PfsService: repos, branches and commits. Files are read by `FileReader` and written through
 * upload sessions (`Uploads`); this class composes them so the server sees one service.
 *
 * Promises: every state change is one metadata transaction; a branch head is moved only in the
 * transaction that creates or finishes its commit; `commitFinished` is emitted after that
 * transaction has committed, never before.
 */
import type {
  BranchInfo, BranchRef, CommitInfo, CommitRef, CreateBranchRequest, CreateRepoRequest,
  FinishCommitRequest, RepoInfo, RepoType, StartCommitRequest,
} from '../api/types.js';
import { SluiceError } from '../errors/index.js';
import { newCommitId, validateName } from '../lib/names.js';
import { EventQueue } from '../lib/event-queue.js';
import { commitStage, type Exec, type PfsContext } from './context.js';
import {
  commitInfo, finishCommitTx, getCommitRow, requireRepo, resolveCommit, type CommitRow,
} from './commits.js';

export interface DeleteOptions {
  force?: boolean;
}

export class PfsService {
  constructor(readonly ctx: PfsContext) {}

  // ---- repos ----

  /** Creates a repo with a `master` branch that has no commits yet. */
  async createRepo(req: CreateRepoRequest, type: RepoType = 'user'): Promise<RepoInfo> {
    // System repos (`<pipeline>.spec`) carry a dot, which user names may not.
    if (type === 'user') validateName('repo', req.name);
    await this.ctx.tx(async (trx) => {
      const existing = await trx.selectFrom('repos').select('name').where('name', '=', req.name).executeTakeFirst();
      if (existing !== undefined) {
        if (req.update === true) {
          await trx.updateTable('repos').set({ description: req.description ?? '' }).where('name', '=', req.name).execute();
          return;
        }
        throw new SluiceError('PFS_REPO_EXISTS', `repo ${req.name} already exists`, { details: { repo: req.name } });
      }
      const now = this.ctx.now();
      await trx.insertInto('repos').values({ name: req.name, type, description: req.description ?? '', created_at: now }).execute();
      await trx.insertInto('branches').values({ repo: req.name, name: 'master', head: null, created_at: now, trigger: null }).execute();
    });
    return this.inspectRepo(req.name);
  }

  async inspectRepo(name: string): Promise<RepoInfo> {
    const db = this.ctx.db;
    const row = await db.selectFrom('repos').selectAll().where('name', '=', name).executeTakeFirst();
    if (row === undefined) throw new SluiceError('PFS_REPO_NOT_FOUND', `repo ${name} not found`, { details: { repo: name } });
    return this.repoInfo(db, row);
  }

  async listRepos(opts: { all?: boolean } = {}): Promise<RepoInfo[]> {
    const db = this.ctx.db;
    let q = db.selectFrom('repos').selectAll().orderBy('created_at', 'desc').orderBy('name');
    if (opts.all !== true) q = q.where('type', '=', 'user');
    const rows = await q.execute();
    return Promise.all(rows.map((r) => this.repoInfo(db, r)));
  }

  private async repoInfo(exec: Exec, row: { name: string; type: string; description: string; created_at: number }): Promise<RepoInfo> {
    const branches = await exec.selectFrom('branches').select(['name', 'head']).where('repo', '=', row.name).orderBy('name').execute();
    let sizeBytes = 0;
    const master = branches.find((b) => b.name === 'master');
    if (master?.head != null) {
      const head = await getCommitRow(exec, row.name, master.head);
      if (head !== undefined && head.finished_at !== null) sizeBytes = head.size_bytes;
      else if (head?.parent != null) sizeBytes = (await getCommitRow(exec, row.name, head.parent))?.size_bytes ?? 0;
    }
    return { name: row.name, type: row.type as RepoType, description: row.description, created: row.created_at, sizeBytes, branches: branches.map((b) => b.name) };
  }

  /**
   * Deletes a repo and its branches and commits. Refused without `force` when it has commits
   * or when branches of other repos are computed from it.
   */
  async deleteRepo(name: string, opts: DeleteOptions = {}): Promise<void> {
    await this.ctx.tx(async (trx) => {
      await requireRepo(trx, name);
      if (opts.force !== true) {
        const dependents = await trx.selectFrom('branch_provenance').select(['repo', 'branch']).where('from_repo', '=', name).where('repo', '!=', name).execute();
        if (dependents.length > 0) {
          const names = dependents.map((d) => `${d.repo}@${d.branch}`).join(', ');
          throw new SluiceError('PFS_REPO_HAS_DEPENDENTS', `repo ${name} cannot be deleted: ${names} depend on it (use --force)`, { details: { repo: name, dependents: names } });
        }
        const anyCommit = await trx.selectFrom('commits').select('id').where('repo', '=', name).limit(1).executeTakeFirst();
        if (anyCommit !== undefined) {
          throw new SluiceError('PFS_REPO_NOT_EMPTY', `repo ${name} has commits; use --force to delete it with its data`, { details: { repo: name } });
        }
      }
      await trx.deleteFrom('staged_ops').where('stage', 'like', `c/${name}/%`).execute();
      await trx.deleteFrom('stages').where('id', 'like', `c/${name}/%`).execute();
      await trx.deleteFrom('commit_provenance').where('repo', '=', name).execute();
      await trx.deleteFrom('commit_provenance').where('from_repo', '=', name).execute();
      await trx.deleteFrom('commits').where('repo', '=', name).execute();
      await trx.deleteFrom('branch_provenance').where((eb) => eb.or([eb('repo', '=', name), eb('from_repo', '=', name)])).execute();
      await trx.deleteFrom('branches').where('repo', '=', name).execute();
      await trx.deleteFrom('repos').where('name', '=', name).execute();
    });
  }

  // ---- branches ----

  async createBranch(repo: string, req: CreateBranchRequest): Promise<BranchInfo> {
    validateName('branch', req.name);
    await this.ctx.tx(async (trx) => {
      await requireRepo(trx, repo);
      let head: string | null = null;
      if (req.head !== undefined) head = (await resolveCommit(trx, repo, req.head)).id;
      for (const p of req.provenance ?? []) {
        const b = await trx.selectFrom('branches').select('name').where('repo', '=', p.repo).where('name', '=', p.branch).executeTakeFirst();
        if (b === undefined) throw new SluiceError('PFS_BRANCH_NOT_FOUND', `provenance branch ${p.repo}@${p.branch} not found`, { details: { ...p } });
        if (p.repo === repo && p.branch === req.name) throw new SluiceError('INVALID_ARGUMENT', `branch ${repo}@${req.name} cannot be its own provenance`);
      }
      const existing = await trx.selectFrom('branches').select('head').where('repo', '=', repo).where('name', '=', req.name).executeTakeFirst();
      if (existing === undefined) {
        await trx.insertInto('branches').values({ repo, name: req.name, head, created_at: this.ctx.now(), trigger: null }).execute();
      } else if (req.head !== undefined) {
        await trx.updateTable('branches').set({ head }).where('repo', '=', repo).where('name', '=', req.name).execute();
      }
      if (req.provenance !== undefined) {
        await trx.deleteFrom('branch_provenance').where('repo', '=', repo).where('branch', '=', req.name).execute();
        // A branch named twice (a pipeline crossing a repo with itself) is one provenance edge.
        const unique = new Map(req.provenance.map((p) => [`${p.repo}@${p.branch}`, p]));
        for (const p of unique.values()) {
          await trx.insertInto('branch_provenance').values({ repo, branch: req.name, from_repo: p.repo, from_branch: p.branch }).execute();
        }
      }
    });
    return this.inspectBranch(repo, req.name);
  }

  async inspectBranch(repo: string, name: string): Promise<BranchInfo> {
    const db = this.ctx.db;
    await requireRepo(db, repo);
    const row = await db.selectFrom('branches').selectAll().where('repo', '=', repo).where('name', '=', name).executeTakeFirst();
    if (row === undefined) throw new SluiceError('PFS_BRANCH_NOT_FOUND', `branch ${name} not found in repo ${repo}`, { details: { repo, branch: name } });
    return this.branchInfo(db, row);
  }

  async listBranches(repo: string): Promise<BranchInfo[]> {
    const db = this.ctx.db;
    await requireRepo(db, repo);
    const rows = await db.selectFrom('branches').selectAll().where('repo', '=', repo).orderBy('created_at', 'desc').orderBy('name').execute();
    return Promise.all(rows.map((r) => this.branchInfo(db, r)));
  }

  private async branchInfo(exec: Exec, row: { repo: string; name: string; head: string | null; created_at: number; trigger: string | null }): Promise<BranchInfo> {
    const prov = await exec.selectFrom('branch_provenance').select(['from_repo', 'from_branch']).where('repo', '=', row.repo).where('branch', '=', row.name).execute();
    const sub = await exec.selectFrom('branch_provenance').select(['repo', 'branch']).where('from_repo', '=', row.repo).where('from_branch', '=', row.name).execute();
    return {
      repo: row.repo,
      name: row.name,
      head: row.head,
      created: row.created_at,
      provenance: prov.map((p): BranchRef => ({ repo: p.from_repo, branch: p.from_branch })),
      subvenance: sub.map((s): BranchRef => ({ repo: s.repo, branch: s.branch })),
      trigger: row.trigger,
    };
  }

  /** Deletes a branch (its commits stay reachable by id). Refused when other branches depend on it, unless forced. */
  async deleteBranch(repo: string, name: string, opts: DeleteOptions = {}): Promise<void> {
    await this.ctx.tx(async (trx) => {
      await requireRepo(trx, repo);
      const row = await trx.selectFrom('branches').select('name').where('repo', '=', repo).where('name', '=', name).executeTakeFirst();
      if (row === undefined) throw new SluiceError('PFS_BRANCH_NOT_FOUND', `branch ${name} not found in repo ${repo}`, { details: { repo, branch: name } });
      const dependents = await trx.selectFrom('branch_provenance').select(['repo', 'branch']).where('from_repo', '=', repo).where('from_branch', '=', name).execute();
      if (dependents.length > 0 && opts.force !== true) {
        const names = dependents.map((d) => `${d.repo}@${d.branch}`).join(', ');
        throw new SluiceError('PFS_BRANCH_HAS_DEPENDENTS', `branch ${repo}@${name} cannot be deleted: ${names} depend on it`, { details: { repo, branch: name, dependents: names } });
      }
      await trx.deleteFrom('branch_provenance').where((eb) => eb.or([eb.and([eb('repo', '=', repo), eb('branch', '=', name)]), eb.and([eb('from_repo', '=', repo), eb('from_branch', '=', name)])])).execute();
      await trx.deleteFrom('branches').where('repo', '=', repo).where('name', '=', name).execute();
    });
  }

  // ---- commits ----

  /** Opens a commit on a branch and makes it the head. Refused while the head is still open. */
  async startCommit(repo: string, req: StartCommitRequest, origin: 'USER' | 'AUTO' = 'USER', id: string = newCommitId()): Promise<CommitInfo> {
    validateName('branch', req.branch);
    const row = await this.ctx.tx((trx) => startCommitTx(this.ctx, trx, repo, req, origin, id));
    const info = await commitInfo(this.ctx, this.ctx.db, row);
    this.ctx.events.emit('commitStarted', info);
    return info;
  }

  async finishCommit(repo: string, ref: string, req: FinishCommitRequest = {}): Promise<CommitInfo> {
    const row = await this.ctx.tx(async (trx) => {
      const c = await resolveCommit(trx, repo, ref);
      return finishCommitTx(this.ctx, trx, c, req.description);
    });
    const info = await commitInfo(this.ctx, this.ctx.db, row);
    this.ctx.events.emit('commitFinished', info);
    return info;
  }

  async inspectCommit(repo: string, ref: string): Promise<CommitInfo> {
    const db = this.ctx.db;
    return commitInfo(this.ctx, db, await resolveCommit(db, repo, ref));
  }

  /**
   * Lists commits newest first: the ancestry of `branch` (or of `from`'s descendants up to the
   * head), or every commit of the repo when no branch is given.
   */
  async listCommits(repo: string, opts: { branch?: string; limit?: number; from?: string } = {}): Promise<CommitInfo[]> {
    const db = this.ctx.db;
    await requireRepo(db, repo);
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : Infinity;
    const rows: CommitRow[] = [];
    if (opts.branch !== undefined) {
      let row: CommitRow | undefined;
      try {
        row = await resolveCommit(db, repo, opts.branch);
      } catch (err) {
        if (err instanceof SluiceError && err.code === 'PFS_COMMIT_NOT_FOUND') return [];
        throw err;
      }
      const stopAt = opts.from === undefined ? undefined : (await resolveCommit(db, repo, opts.from)).id;
      while (row !== undefined && rows.length < limit) {
        if (row.id === stopAt) break;
        rows.push(row);
        row = row.parent === null ? undefined : await getCommitRow(db, repo, row.parent);
      }
    } else {
      let q = db.selectFrom('commits').selectAll().where('repo', '=', repo).orderBy('started_at', 'desc').orderBy('depth', 'desc');
      if (limit !== Infinity) q = q.limit(limit);
      rows.push(...(await q.execute()));
    }
    return Promise.all(rows.map((r) => commitInfo(this.ctx, db, r)));
  }

  /** Every commit that shares a commit-set id (Pachyderm 2's global id), across repos. */
  async listCommitSet(id: string): Promise<CommitInfo[]> {
    const db = this.ctx.db;
    const rows = await db.selectFrom('commits').selectAll().where('id', '=', id).orderBy('started_at').execute();
    if (rows.length === 0) throw new SluiceError('PFS_COMMIT_NOT_FOUND', `commit set ${id} not found`, { details: { commit: id } });
    return Promise.all(rows.map((r) => commitInfo(this.ctx, db, r)));
  }

  /** Resolves when the commit is finished (at once if it already is). */
  async waitCommit(repo: string, ref: string, signal?: AbortSignal): Promise<CommitInfo> {
    const row = await resolveCommit(this.ctx.db, repo, ref);
    const target: CommitRef = { repo, id: row.id };
    return new Promise<CommitInfo>((resolve, reject) => {
      const onFinish = (info: CommitInfo): void => {
        if (info.repo === target.repo && info.id === target.id) done(() => resolve(info));
      };
      const onAbort = (): void => done(() => reject(new SluiceError('UNAVAILABLE', 'wait cancelled')));
      const done = (then: () => void): void => {
        this.ctx.events.off('commitFinished', onFinish);
        signal?.removeEventListener('abort', onAbort);
        then();
      };
      this.ctx.events.on('commitFinished', onFinish);
      signal?.addEventListener('abort', onAbort);
      // Check after subscribing so a finish between the two cannot be missed.
      this.inspectCommit(repo, row.id).then((info) => {
        if (info.finished !== null) done(() => resolve(info));
      }, (err: unknown) => done(() => reject(err)));
    });
  }

  /**
   * Finished commits of a branch in finish order: those after `from` (or all, unless `onlyNew`),
   * then each new one as it finishes, until the signal aborts.
   */
  async *subscribeCommits(repo: string, opts: { branch?: string; from?: string; onlyNew?: boolean; signal?: AbortSignal }): AsyncGenerator<CommitInfo> {
    const db = this.ctx.db;
    await requireRepo(db, repo);
    // Listen before reading what is stored, so nothing that finishes in between is missed.
    const live = new EventQueue<CommitInfo>(this.ctx.events, 'commitFinished', (info) => info.repo === repo && (opts.branch === undefined || info.branch === opts.branch));
    try {
      // Ids already yielded from the store: their events, queued meanwhile, are skipped.
      const seen = new Set<string>();
      if (opts.onlyNew !== true) {
        const fromSeq = opts.from !== undefined ? (await resolveCommit(db, repo, opts.from)).finish_seq ?? 0 : 0;
        let q = db.selectFrom('commits').selectAll().where('repo', '=', repo).where('finish_seq', '>', fromSeq).orderBy('finish_seq');
        if (opts.branch !== undefined) q = q.where('branch', '=', opts.branch);
        for (const row of await q.execute()) {
          seen.add(row.id);
          yield await commitInfo(this.ctx, db, row);
        }
      }
      // A commit finishes once, so live events never repeat; only the store's can overlap them.
      for await (const next of live.follow(opts.signal)) {
        if (seen.delete(next.id)) continue;
        yield next;
      }
    } finally {
      live.close();
    }
  }

  /**
   * Deletes a branch head commit (open or finished): the branch moves back to its parent and the
   * commit's staged changes are dropped. Refused for a commit with children or dependents.
   */
  async deleteCommit(repo: string, ref: string): Promise<void> {
    await this.ctx.tx(async (trx) => {
      const row = await resolveCommit(trx, repo, ref);
      await assertRemovable(trx, row);
      const heads = await trx.selectFrom('branches').select('name').where('repo', '=', repo).where('head', '=', row.id).execute();
      for (const h of heads) await trx.updateTable('branches').set({ head: row.parent }).where('repo', '=', repo).where('name', '=', h.name).execute();
      await trx.deleteFrom('staged_ops').where('stage', '=', commitStage(repo, row.id)).execute();
      await trx.deleteFrom('stages').where('id', '=', commitStage(repo, row.id)).execute();
      await trx.deleteFrom('commit_provenance').where('repo', '=', repo).where('id', '=', row.id).execute();
      await trx.deleteFrom('commits').where('repo', '=', repo).where('id', '=', row.id).execute();
    });
  }

  /**
   * Squashes a finished commit into its child: the child keeps its files (its tree already holds
   * them) and takes the commit's parent; the commit disappears from history. A branch head with
   * no child cannot be squashed (there is nothing to squash it into): delete it instead.
   */
  async squashCommit(repo: string, ref: string): Promise<void> {
    await this.ctx.tx(async (trx) => {
      const row = await resolveCommit(trx, repo, ref);
      if (row.finished_at === null) throw new SluiceError('PFS_COMMIT_NOT_FINISHED', `commit ${repo}@${row.id} is open; finish or delete it`, { details: { repo, commit: row.id } });
      const children = await trx.selectFrom('commits').select(['id']).where('repo', '=', repo).where('parent', '=', row.id).execute();
      if (children.length === 0) {
        throw new SluiceError('PFS_COMMIT_NOT_HEAD', `commit ${repo}@${row.id} has no children to squash into; use delete commit to remove a head`, { details: { repo, commit: row.id } });
      }
      const deps = await trx.selectFrom('commit_provenance').select(['repo', 'id']).where('from_repo', '=', repo).where('from_id', '=', row.id).execute();
      if (deps.length > 0) throw new SluiceError('PFS_COMMIT_HAS_DEPENDENTS', `commit ${repo}@${row.id} has dependent commits (${deps.map((d) => `${d.repo}@${d.id}`).join(', ')})`, { details: { repo, commit: row.id } });
      const heads = await trx.selectFrom('branches').select('name').where('repo', '=', repo).where('head', '=', row.id).execute();
      if (heads.length > 0) throw new SluiceError('PFS_COMMIT_NOT_HEAD', `commit ${repo}@${row.id} is the head of ${heads.map((h) => h.name).join(', ')}`, { details: { repo, commit: row.id } });
      await trx.updateTable('commits').set({ parent: row.parent }).where('repo', '=', repo).where('parent', '=', row.id).execute();
      await trx.deleteFrom('commit_provenance').where('repo', '=', repo).where('id', '=', row.id).execute();
      await trx.deleteFrom('commits').where('repo', '=', repo).where('id', '=', row.id).execute();
      // Depths below the removed commit shift by one; only its descendants on this line change.
      let level = children.map((c) => c.id);
      while (level.length > 0) {
        await trx.updateTable('commits').set((eb) => ({ depth: eb('depth', '-', 1) })).where('repo', '=', repo).where('id', 'in', level).execute();
        const next = await trx.selectFrom('commits').select('id').where('repo', '=', repo).where('parent', 'in', level).execute();
        level = next.map((n) => n.id);
      }
    });
  }
}

async function assertRemovable(trx: Exec, row: CommitRow): Promise<void> {
  const child = await trx.selectFrom('commits').select('id').where('repo', '=', row.repo).where('parent', '=', row.id).limit(1).executeTakeFirst();
  if (child !== undefined) throw new SluiceError('PFS_COMMIT_NOT_HEAD', `commit ${row.repo}@${row.id} has children; only a branch head can be deleted`, { details: { repo: row.repo, commit: row.id } });
  const deps = await trx.selectFrom('commit_provenance').select(['repo', 'id']).where('from_repo', '=', row.repo).where('from_id', '=', row.id).execute();
  if (deps.length > 0) throw new SluiceError('PFS_COMMIT_HAS_DEPENDENTS', `commit ${row.repo}@${row.id} has dependent commits (${deps.map((d) => `${d.repo}@${d.id}`).join(', ')})`, { details: { repo: row.repo, commit: row.id } });
}

/** Creates an open commit on a branch inside the caller's transaction and moves the head to it. */
export async function startCommitTx(
  ctx: PfsContext, trx: Exec, repo: string, req: StartCommitRequest, origin: 'USER' | 'AUTO', id: string,
): Promise<CommitRow> {
  await requireRepo(trx, repo);
  // The head is read under a row lock on PostgreSQL (several daemons may commit to one branch);
  // a branch made here by two daemons at once is inserted once and then locked.
  const lockHead = async (): Promise<{ head: string | null } | undefined> => {
    let q = trx.selectFrom('branches').select(['head']).where('repo', '=', repo).where('name', '=', req.branch);
    if (ctx.meta.dialect === 'postgres') q = q.forUpdate();
    return q.executeTakeFirst();
  };
  let branch = await lockHead();
  if (branch === undefined) {
    await trx.insertInto('branches').values({ repo, name: req.branch, head: null, created_at: ctx.now(), trigger: null }).onConflict((oc) => oc.columns(['repo', 'name']).doNothing()).execute();
    branch = (await lockHead()) ?? { head: null };
  }
  let parent: CommitRow | undefined;
  if (req.parent !== undefined) parent = await resolveCommit(trx, repo, req.parent);
  else if (branch.head !== null) parent = await getCommitRow(trx, repo, branch.head);
  if (parent !== undefined && parent.finished_at === null) {
    throw new SluiceError('PFS_COMMIT_NOT_FINISHED', `branch ${repo}@${req.branch} has an open commit ${parent.id}; finish it first`, { details: { repo, branch: req.branch, commit: parent.id } });
  }
  if (await getCommitRow(trx, repo, id) !== undefined) {
    throw new SluiceError('INVALID_ARGUMENT', `commit ${repo}@${id} already exists`, { details: { repo, commit: id } });
  }
  const row: CommitRow = {
    repo, id, branch: req.branch, parent: parent?.id ?? null, origin, description: req.description ?? '',
    started_at: ctx.now(), finished_at: null, root: null, size_bytes: parent?.size_bytes ?? 0,
    depth: parent === undefined ? 0 : parent.depth + 1, finish_seq: null,
  };
  await trx.insertInto('commits').values(row).execute();
  for (const p of req.provenance ?? []) {
    await trx.insertInto('commit_provenance').values({ repo, id, from_repo: p.repo, from_id: p.id }).onConflict((oc) => oc.doNothing()).execute();
  }
  await trx.insertInto('stages').values({ id: commitStage(repo, id), created_at: ctx.now(), expires_at: null }).execute();
  await trx.updateTable('branches').set({ head: id }).where('repo', '=', repo).where('name', '=', req.branch).execute();
  return row;
}
