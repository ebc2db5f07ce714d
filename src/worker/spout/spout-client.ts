/**
 * The slice of the SDK a spout worker uses, as interfaces: the SDK's `Client` and `Upload`
 * satisfy them as they are, and tests can pass doubles (a client that fails on cue).
 */
import type { PipelineInfo, WorkerStateReport } from '../../api/pps-types.js';
import type { CommitRef, CommitUploadResponse, SpoutCommitStats } from '../../api/types.js';
import type { Body } from '../../client/index.js';
import type { LogSink } from '../log-shipper.js';
import type { MarkerSource } from './marker.js';

/** An upload session (the SDK's `Upload`). */
export interface SpoutUpload {
  readonly id: string;
  putTar(path: string, body: Body, opts?: { append?: boolean }): Promise<{ files: number; sizeBytes: number }>;
  deleteFile(path: string): Promise<void>;
  /** With `marker`, the other upload becomes a commit on `marker.branch` in the same transaction. */
  commit(
    repo: string,
    ref: string,
    opts?: { description?: string; provenance?: CommitRef[]; marker?: { branch: string; upload: SpoutUpload }; spoutStats?: SpoutCommitStats },
  ): Promise<CommitUploadResponse>;
  abort(): Promise<void>;
}

export interface SpoutUploadFactory {
  createUpload(): Promise<SpoutUpload>;
}

export interface SpoutClient extends SpoutUploadFactory, MarkerSource, LogSink {
  inspectPipeline(name: string): Promise<PipelineInfo>;
  reportWorkerState(pipeline: string, report: WorkerStateReport): Promise<void>;
}
