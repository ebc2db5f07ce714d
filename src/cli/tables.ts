/**
 * pachctl 2.x's table headers, rows and inspect blocks for repos, branches, commits and files
 * (its `pfs/pretty` package), built on output.ts. One place, so `list commit` and
 * `subscribe commit` print the same rows.
 */
import type { BranchInfo, CommitInfo, FileInfo, RepoInfo } from '../client/index.js';
import { detailBlock, humanSize, relativeTime } from './output.js';

export const REPO_HEADER = ['NAME', 'CREATED', 'SIZE (MASTER)', 'DESCRIPTION'] as const;
export const BRANCH_HEADER = ['BRANCH', 'HEAD', 'TRIGGER'] as const;
export const COMMIT_HEADER = ['REPO', 'BRANCH', 'COMMIT', 'FINISHED', 'SIZE', 'ORIGIN', 'DESCRIPTION'] as const;
export const FILE_HEADER = ['NAME', 'TYPE', 'SIZE'] as const;

/** System repos print as `name.spec` / `name.meta`, as pachctl's CompactPrintRepo. */
export function repoDisplayName(r: Pick<RepoInfo, 'name' | 'type'>): string {
  return r.type === 'user' || r.name.endsWith(`.${r.type}`) ? r.name : `${r.name}.${r.type}`;
}

export function repoRow(r: RepoInfo, now: number): string[] {
  return [repoDisplayName(r), relativeTime(r.created, now), humanSize(r.sizeBytes), r.description];
}

export function repoDetail(r: RepoInfo, now: number): string {
  return detailBlock([
    ['Name', repoDisplayName(r)],
    ['Description', r.description === '' ? undefined : r.description],
    ['Created', relativeTime(r.created, now)],
    ['Size of HEAD on master', humanSize(r.sizeBytes)],
  ]);
}

export function branchRow(b: BranchInfo): string[] {
  return [b.name, b.head ?? '-', b.trigger ?? '-'];
}

export function branchDetail(b: BranchInfo): string {
  return detailBlock([
    ['Name', `${b.repo}@${b.name}`],
    ['Head Commit', b.head === null ? undefined : `${b.repo}@${b.head}`],
    ['Provenance', b.provenance.length === 0 ? undefined : b.provenance.map((p) => `${p.repo}@${p.branch}`).join(' ')],
    ['Subvenance', b.subvenance.length === 0 ? undefined : b.subvenance.map((p) => `${p.repo}@${p.branch}`).join(' ')],
    ['Trigger', b.trigger ?? undefined],
  ]);
}

/** A `list commit` row: FINISHED and SIZE are `-` while the commit is open. */
export function commitRow(c: CommitInfo, now: number): string[] {
  const open = c.finished === null;
  return [c.repo, c.branch, c.id, open ? '-' : relativeTime(c.finished ?? 0, now), open ? '-' : humanSize(c.sizeBytes), c.origin, c.description];
}

export function commitDetail(c: CommitInfo, now: number): string {
  return detailBlock([
    ['Commit', `${c.repo}@${c.id}`],
    ['Original Branch', c.branch],
    ['Description', c.description === '' ? undefined : c.description],
    ['Parent', c.parent ?? undefined],
    ['Started', relativeTime(c.started, now)],
    ['Finished', c.finished === null ? undefined : relativeTime(c.finished, now)],
    ['Size', humanSize(c.sizeBytes)],
    ['Provenance', c.provenance.length === 0 ? undefined : c.provenance.map((p) => `${p.repo}@${p.id}`).join(' ')],
  ]);
}

/** Directories end with `/`, as pachctl 2.x prints them. */
export function displayPath(f: Pick<FileInfo, 'path' | 'type'>): string {
  return f.type === 'dir' && !f.path.endsWith('/') ? `${f.path}/` : f.path;
}

export function fileRow(f: FileInfo): string[] {
  return [displayPath(f), f.type, humanSize(f.sizeBytes)];
}

export function fileDetail(f: FileInfo): string {
  return detailBlock([
    ['Path', displayPath(f)],
    ['Type', f.type],
    ['Size', humanSize(f.sizeBytes)],
  ]);
}
