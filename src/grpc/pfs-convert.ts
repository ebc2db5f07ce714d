/**
 * Between Pachyderm's pfs_v2 messages and Sluice's own types (src/api/types.ts). Shared by every
 * gRPC service that names repos, commits or files (pfs, pps).
 *
 * - Projects: Sluice has one, "default". A request naming another project is refused as not
 *   found (`PFS_REPO_NOT_FOUND`, "project X not found"); every reply names "default".
 * - System repos: Pachyderm names a pipeline's spec repo `{name: p, type: "spec"}`, Sluice names
 *   it `p.spec`; both directions are translated here.
 * - A commit is addressed by its id, or by a branch (its head); ancestry (`master^`) passes
 *   through to Sluice's ref parser.
 */
import { createHash } from 'node:crypto';
import type { BranchInfo, BranchRef, CommitInfo, CommitRef, FileInfo, RepoInfo } from '../api/types.js';
import { SluiceError } from '../errors/index.js';

export const DEFAULT_PROJECT = 'default';

// ---- message shapes as handlers see them (LOADER_OPTIONS: unset messages are null) ----

export interface ProjectMsg {
  name: string;
}
export interface RepoMsg {
  name: string;
  type: string;
  project: ProjectMsg | null;
}
export interface BranchMsg {
  repo: RepoMsg | null;
  name: string;
}
export interface CommitMsg {
  repo: RepoMsg | null;
  id: string;
  branch: BranchMsg | null;
}
export interface FileMsg {
  commit: CommitMsg | null;
  path: string;
  datum: string;
}
export interface TimestampMsg {
  seconds: number;
  nanos: number;
}

// ---- inbound ----

/** Refuses a project other than "default" ('' and absent mean "default"). */
export function checkProject(p: ProjectMsg | null | undefined): void {
  const name = p?.name ?? '';
  if (name !== '' && name !== DEFAULT_PROJECT) {
    throw new SluiceError('PFS_REPO_NOT_FOUND', `project ${name} not found: Sluice has one project, ${DEFAULT_PROJECT}`, { details: { project: name } });
  }
}

/** Sluice's name of a repo message (`p.spec` for `{name: p, type: spec}`). */
export function repoName(r: RepoMsg | null | undefined, field = 'repo'): string {
  if (r === null || r === undefined || r.name === '') throw new SluiceError('INVALID_ARGUMENT', `${field}.name is required`, { details: { field } });
  checkProject(r.project);
  return r.type === '' || r.type === 'user' ? r.name : `${r.name}.${r.type}`;
}

/** The repo of a commit message: its own `repo`, else its branch's. */
export function commitRepo(c: CommitMsg | null | undefined, field = 'commit'): string {
  if (c === null || c === undefined) throw new SluiceError('INVALID_ARGUMENT', `${field} is required`, { details: { field } });
  if (c.repo !== null && c.repo.name !== '') return repoName(c.repo, `${field}.repo`);
  return repoName(c.branch?.repo, `${field}.branch.repo`);
}

/** Repo and Sluice ref (commit id, else branch name) of a commit message. */
export function commitTarget(c: CommitMsg | null | undefined, field = 'commit'): { repo: string; ref: string } {
  const repo = commitRepo(c, field);
  const ref = c?.id !== undefined && c.id !== '' ? c.id : c?.branch?.name ?? '';
  if (ref === '') throw new SluiceError('INVALID_ARGUMENT', `${field} needs an id or a branch name`, { details: { field } });
  return { repo, ref };
}

export function branchTarget(b: BranchMsg | null | undefined, field = 'branch'): { repo: string; branch: string } {
  if (b === null || b === undefined || b.name === '') throw new SluiceError('INVALID_ARGUMENT', `${field}.name is required`, { details: { field } });
  return { repo: repoName(b.repo, `${field}.repo`), branch: b.name };
}

export function fileTarget(f: FileMsg | null | undefined, field = 'file'): { repo: string; ref: string; path: string } {
  if (f === null || f === undefined) throw new SluiceError('INVALID_ARGUMENT', `${field} is required`, { details: { field } });
  return { ...commitTarget(f.commit, `${field}.commit`), path: f.path === '' ? '/' : f.path };
}

// ---- outbound ----

export function timestamp(ms: number | null): TimestampMsg | null {
  if (ms === null) return null;
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export function repoMsg(name: string): RepoMsg {
  const dot = name.lastIndexOf('.');
  const type = dot > 0 ? name.slice(dot + 1) : '';
  if (type === 'spec' || type === 'meta') return { name: name.slice(0, dot), type, project: { name: DEFAULT_PROJECT } };
  return { name, type: 'user', project: { name: DEFAULT_PROJECT } };
}

export function branchMsg(repo: string, name: string): BranchMsg {
  return { repo: repoMsg(repo), name };
}

export function commitMsg(repo: string, id: string, branch?: string | null): CommitMsg {
  return { repo: repoMsg(repo), id, branch: branch === undefined || branch === null || branch === '' ? null : branchMsg(repo, branch) };
}

export function repoInfoMsg(r: RepoInfo): Record<string, unknown> {
  return {
    repo: repoMsg(r.name),
    created: timestamp(r.created),
    size_bytes_upper_bound: r.sizeBytes,
    description: r.description,
    branches: r.branches.map((b) => branchMsg(r.name, b)),
    auth_info: null,
    details: { size_bytes: r.sizeBytes },
  };
}

function branchRefs(refs: BranchRef[]): BranchMsg[] {
  return refs.map((b) => branchMsg(b.repo, b.branch));
}

export function branchInfoMsg(b: BranchInfo): Record<string, unknown> {
  return {
    branch: branchMsg(b.repo, b.name),
    head: b.head === null ? null : commitMsg(b.repo, b.head, b.name),
    provenance: branchRefs(b.provenance),
    subvenance: branchRefs(b.subvenance),
    direct_provenance: branchRefs(b.provenance),
    trigger: b.trigger === null ? null : { branch: b.trigger, all: false, rate_limit_spec: '', size: '', commits: 0, cron_spec: '' },
  };
}

export function commitInfoMsg(c: CommitInfo): Record<string, unknown> {
  return {
    commit: commitMsg(c.repo, c.id, c.branch),
    origin: { kind: c.origin },
    description: c.description,
    parent_commit: c.parent === null ? null : commitMsg(c.repo, c.parent, c.branch),
    child_commits: [],
    started: timestamp(c.started),
    finishing: timestamp(c.finished),
    finished: timestamp(c.finished),
    direct_provenance: c.provenance.map((p: CommitRef) => commitMsg(p.repo, p.id)),
    error: '',
    size_bytes_upper_bound: c.sizeBytes,
    details: { size_bytes: c.sizeBytes, compacting_time: null, validating_time: null },
  };
}

/** A file's info; `commit` is the commit message the caller named (so a branch stays a branch). */
export function fileInfoMsg(f: FileInfo, commit?: CommitMsg): Record<string, unknown> {
  const hash = f.chunks === undefined ? Buffer.alloc(0) : createHash('sha256').update(f.chunks.join('')).digest();
  return {
    file: { commit: commit ?? commitMsg(f.commit.repo, f.commit.id), path: f.path, datum: '' },
    file_type: f.type === 'dir' ? 'DIR' : 'FILE',
    committed: null,
    size_bytes: f.sizeBytes,
    hash,
  };
}

/** The commit a reply names: the id it resolved to, with the branch the caller named (if any). */
export function resolvedCommitMsg(requested: CommitMsg | null | undefined, resolved: CommitRef): CommitMsg {
  const branch = requested?.branch?.name;
  return commitMsg(resolved.repo, resolved.id, branch === undefined || branch === '' ? null : branch);
}
