/**
 * The slice of the SDK a pipeline worker uses, as interfaces: the worker protocol (claim,
 * report, logs), input reads and output uploads. The SDK's `Client` satisfies `WorkerClient`
 * as it is; tests pass doubles for the parts a real daemon does not serve yet, and the real
 * client for the rest.
 */
import type { Body } from '../client/index.js';
import type { ClaimRequest, DatumTask, DatumResult } from '../api/pps-types.js';
import type { InputSource } from './materialize-inputs.js';
import type { LogSink } from './log-shipper.js';

/** An upload session (the SDK's `Upload`). */
export interface UploadSink {
  readonly id: string;
  putTar(path: string, body: Body): Promise<{ files: number; sizeBytes: number }>;
  abort(): Promise<void>;
}

export interface UploadFactory {
  createUpload(): Promise<UploadSink>;
}

export interface WorkerClient extends InputSource, LogSink, UploadFactory {
  claimDatum(pipeline: string, req: ClaimRequest, signal?: AbortSignal): Promise<DatumTask | null>;
  reportDatum(pipeline: string, result: DatumResult): Promise<void>;
  /**
   * Optional: the report and the next claim in one round trip (null when no datum was pending
   * at that moment). The worker uses it when present and claims as usual after a null.
   */
  reportDatumAndClaim?(pipeline: string, result: DatumResult): Promise<DatumTask | null>;
}

/**
 * What a worker reports. `recovered` (not yet in the wire type) marks a datum whose user code
 * failed but whose `err_cmd` succeeded: Pachyderm counts it as recovered, uploads no output for
 * it and does not fail the job; it is sent with `success: true` and an empty upload, so a
 * daemon that does not know the field still neither retries it nor fails the job.
 */
export type WorkerDatumResult = DatumResult & { recovered?: boolean };
