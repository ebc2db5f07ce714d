/**
 * The wire contract shared by the server and the SDK: the JSON shapes of requests and replies.
 * Times are milliseconds since the epoch; sizes are bytes. Field names are camelCase. Nothing here
 * imports server code, so the SDK can depend on it alone.
 */

export const API_PREFIX = '/api/v1';

export type RepoType = 'user' | 'spec' | 'meta';

export interface RepoInfo {
  name: string;
  type: RepoType;
  description: string;
  created: number;
  /** Size of the master branch's head commit (0 when there is none). */
  sizeBytes: number;
  branches: string[];
}

export interface BranchRef {
  repo: string;
  branch: string;
}

export interface BranchInfo {
  repo: string;
  name: string;
  /** Head commit id, or null for a branch with no commits. */
  head: string | null;
  created: number;
  /** Branches this branch is computed from (set for pipeline output branches). */
  provenance: BranchRef[];
  /** Branches computed from this one. */
  subvenance: BranchRef[];
  trigger: string | null;
}

export type CommitOrigin = 'USER' | 'AUTO' | 'FSCK';

export interface CommitRef {
  repo: string;
  id: string;
}

export interface CommitInfo {
  repo: string;
  id: string;
  /** The branch the commit was made on. */
  branch: string;
  parent: string | null;
  origin: CommitOrigin;
  description: string;
  started: number;
  /** null while the commit is open. */
  finished: number | null;
  /** Total bytes of the commit's files; for an open commit, those of its parent plus what is staged. */
  sizeBytes: number;
  /** Commits this commit was computed from (pipeline inputs, a spout's spec commit). */
  provenance: CommitRef[];
  /** Number of ancestors: the first commit of a branch has depth 0 (addressed as `.0`). */
  depth: number;
}

export type FileType = 'file' | 'dir';

export interface FileInfo {
  path: string;
  type: FileType;
  sizeBytes: number;
  /** For files: the SHA-256 of each chunk, in order. */
  chunks?: string[];
  /** The commit the listing was read from. */
  commit: CommitRef;
}

export interface FileDiff {
  path: string;
  type: FileType;
  /** 'added' | 'deleted' | 'modified' */
  change: 'added' | 'deleted' | 'modified';
  oldSizeBytes: number | null;
  newSizeBytes: number | null;
}

export interface VersionInfo {
  version: string;
  api: string;
}

export interface CreateRepoRequest {
  name: string;
  description?: string;
  /** Update the description of an existing repo instead of failing. */
  update?: boolean;
}

export interface CreateBranchRequest {
  name: string;
  /** A ref in the same repo (branch, commit id, with ancestry); omit for a branch with no head. */
  head?: string;
  provenance?: BranchRef[];
}

export interface StartCommitRequest {
  branch: string;
  /** Parent ref; defaults to the branch head. */
  parent?: string;
  description?: string;
  provenance?: CommitRef[];
}

export interface FinishCommitRequest {
  description?: string;
}

/** Where the staged changes of an upload go when it is committed. */
export interface CommitUploadRequest {
  repo: string;
  /**
   * A branch or an open commit id. For a branch whose head is finished, a new commit is made
   * and finished in one transaction; for a branch whose head is open (or an open commit id) the
   * changes are added to that open commit.
   */
  ref: string;
  description?: string;
  provenance?: CommitRef[];
  /** Also write `marker` files to the repo's `marker` branch in the same transaction (spouts). */
  marker?: { branch: string; uploadId: string };
  /** What a spout's commit carries about its messages, for the spout metrics (docs/metrics.md). */
  spoutStats?: SpoutCommitStats;
}

/**
 * Sent by a spout (a connector, the pipe worker) with the commit of a batch: how many messages
 * it holds and, when the source stamps them, when each was published (ms since the epoch). The
 * daemon counts them in `sluice_spout_messages_total` and observes `commit time - publish time`
 * in `sluice_spout_publish_to_commit_seconds`, only once the commit has landed on the output
 * branch of a spout pipeline. At most 100,000 publish times per commit.
 */
export interface SpoutCommitStats {
  messages: number;
  publishTimesMs?: number[];
}

export interface CommitUploadResponse {
  commit: CommitInfo;
  /** True when a new commit was made and finished; false when the changes joined an open commit. */
  finished: boolean;
  markerCommit?: CommitInfo;
}

export interface PutFileOptions {
  /** Append to the file instead of replacing it. */
  append?: boolean;
}

export interface CopyFileRequest {
  src: { repo: string; ref: string; path: string };
  dst: string;
  append?: boolean;
}

export interface FsckReport {
  commitsChecked: number;
  nodesChecked: number;
  chunksChecked: number;
  bytesChecked: number;
  errors: Array<{ repo: string; commit: string; message: string }>;
}

/** What one garbage collection reclaimed (POST /gc; see src/pfs/gc.ts). */
export interface GcReport {
  expiredUploads: number;
  /** Sealed packs that no pack row named (a crash between seal and record), removed. */
  orphanPacks: number;
  /** Unrecorded packs left alone: younger than the grace period, or being recorded now. */
  youngPacks: number;
  chunksDeleted: number;
  /** Registered packs all of whose chunks were garbage, removed. */
  packsDeleted: number;
  /** Bytes of the packs removed. */
  bytesFreed: number;
  /** Chunks still named after the run. */
  chunksLive: number;
  /** Chunks that looked unnamed at the first mark and were named again by the second. */
  chunksRescued: number;
  durationMs: number;
}

export interface UploadInfo {
  id: string;
}

/** One line of the NDJSON stream returned by `subscribeCommit`. */
export type SubscribeEvent = { type: 'commit'; commit: CommitInfo };
