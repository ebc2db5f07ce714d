/**
 * The wire contract for pipelines, jobs, datums, logs and the worker protocol. Specs travel as
 * the text the user wrote (the daemon parses it, so errors carry file, line and column); the
 * daemon returns the normalized spec as JSON.
 */
import type { CommitRef } from './types.js';

export type PipelineState = 'starting' | 'running' | 'restarting' | 'failure' | 'paused' | 'standby' | 'crashing';
export type JobState = 'created' | 'starting' | 'running' | 'finishing' | 'success' | 'failure' | 'killed';
export type DatumState = 'pending' | 'running' | 'success' | 'failed' | 'skipped';
export type PipelineType = 'transform' | 'spout' | 'service';

export interface JobCounts {
  created: number;
  starting: number;
  running: number;
  finishing: number;
  success: number;
  failure: number;
  killed: number;
}

export interface PipelineInfo {
  name: string;
  version: number;
  type: PipelineType;
  description: string;
  /** The normalized spec (lowerCamelCase fields, defaults applied). */
  spec: Record<string, unknown>;
  /** The commit in the pipeline's spec repo that holds this version's spec. */
  specCommit: CommitRef;
  state: PipelineState;
  /** Why the pipeline is crashing or failed; empty otherwise. */
  reason: string;
  stopped: boolean;
  created: number;
  updated: number;
  /** `list pipeline`'s INPUT column: `repo:glob`, `(a ⨯ b)`, `none`, … */
  input: string;
  outputBranch: string;
  parallelism: number;
  workersRunning: number;
  lastJobState: JobState | null;
  jobCounts: JobCounts;
}

export interface DatumCounts {
  total: number;
  processed: number;
  skipped: number;
  failed: number;
  recovered: number;
}

export interface JobInfo {
  pipeline: string;
  /** The commit-set id: the id of the input commit that made the job and of its output commit. */
  id: string;
  pipelineVersion: number;
  state: JobState;
  reason: string;
  created: number;
  started: number | null;
  finished: number | null;
  outputCommit: CommitRef | null;
  inputs: CommitRef[];
  restart: number;
  datums: DatumCounts;
  bytesDownloaded: number;
  bytesUploaded: number;
}

/** One input path of a datum: what appears under `/pfs/<name>`. */
export interface DatumInput {
  name: string;
  repo: string;
  commit: string;
  /** The path in the input commit (a file or a directory), placed at `/pfs/<name><path>`. */
  path: string;
  type: 'file' | 'dir';
  /** The input's `join_on` template filled from this path's glob captures, when not empty (`PACH_DATUM_<name>_JOIN_ON`). */
  joinOn?: string;
  /** The input's `group_by` filled likewise, when not empty (`PACH_DATUM_<name>_GROUP_BY`). */
  groupBy?: string;
  /** Set when the input is a join's `outer_join` side. */
  outerJoin?: true;
  /** The input's `lazy`: files appear as named pipes that stream their bytes when read. */
  lazy?: true;
  /** The input's `empty_files`: files appear with their names but no bytes. */
  emptyFiles?: true;
}

export interface DatumInfo {
  id: string;
  job: string;
  state: DatumState;
  inputs: DatumInput[];
  tries: number;
  reason: string;
}

export interface LogLine {
  ts: number;
  pipeline: string;
  job: string | null;
  datum: string | null;
  worker: string | null;
  stream: 'stdout' | 'stderr' | 'system';
  message: string;
}

export interface CreatePipelineRequest {
  /** The spec file's text: JSON, YAML, several documents. */
  spec: string;
  /** Its name, for error messages (`edges.json:3:5: …`). */
  file?: string;
  update?: boolean;
  reprocess?: boolean;
}

export interface CreatePipelineResponse {
  pipelines: PipelineInfo[];
  warnings: string[];
}

// ---- worker protocol (used only by `sluice worker`) ----

export interface TransformTask {
  cmd: string[];
  stdin: string[];
  env: Record<string, string>;
  workingDir: string;
  acceptReturnCode: number[];
  errCmd: string[];
  errStdin: string[];
  user: string;
  image: string;
}

export interface DatumTask {
  pipeline: string;
  pipelineVersion: number;
  job: string;
  datum: string;
  inputs: DatumInput[];
  transform: TransformTask;
  /** 1-based attempt number; the daemon gives up after `datumTries`. */
  attempt: number;
  datumTries: number;
  /** Milliseconds; 0 = none. */
  datumTimeoutMs: number;
}

export interface ClaimRequest {
  worker: string;
  /** How long the daemon may hold the request open waiting for work (ms). */
  waitMs?: number;
}

export interface DatumResult {
  worker: string;
  job: string;
  datum: string;
  success: boolean;
  /** The upload holding the datum's `/pfs/out` (on success). */
  uploadId?: string;
  /** On failure: what went wrong, with the last lines of stderr. */
  reason?: string;
  /** The user code failed but `err_cmd` accepted it: no output, and the job goes on. */
  recovered?: boolean;
  bytesDownloaded?: number;
  bytesUploaded?: number;
  /** How long the worker spent on this attempt (inputs, user code, upload), for the datum duration histogram. */
  durationMs?: number;
}

export interface WorkerLogBatch {
  worker: string;
  lines: Array<{ ts: number; job: string | null; datum: string | null; stream: LogLine['stream']; message: string }>;
}

/** A worker says how its user code is doing (spouts: crash-looping, or running again). */
export interface WorkerStateReport {
  worker: string;
  state: 'running' | 'crashing';
  reason?: string;
}
