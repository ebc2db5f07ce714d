/**
 * The executor runs a pipeline's workers. The local executor spawns `sluice worker` child
 * processes; a Kubernetes executor would run the same command in a Deployment. The controller
 * only says how many workers a pipeline should have and when to stop them.
 */
export type WorkerKind = 'transform' | 'spout';

export interface WorkerSet {
  pipeline: string;
  version: number;
  kind: WorkerKind;
  count: number;
}

export interface ExecutorObserver {
  /** The workers of a pipeline keep exiting (reason says why), or run again after crashing. */
  onCrashing(pipeline: string, reason: string): void;
  onRecovered(pipeline: string): void;
  /** A worker exited unasked and will be started again (each restart once). */
  onWorkerRestart?(pipeline: string): void;
}

export interface Executor {
  /** Makes the pipeline run exactly `count` workers of `version`, replacing older ones. */
  ensure(set: WorkerSet): void;
  /** Stops a pipeline's workers and waits for them to exit. */
  stop(pipeline: string): Promise<void>;
  stopAll(): Promise<void>;
  running(pipeline: string): number;
  /** The ids of the pipeline's live workers, or undefined when the executor cannot tell. */
  workerIds(pipeline: string): string[] | undefined;
  setObserver(observer: ExecutorObserver): void;
}

/** An executor that runs nothing (tests of the controller, or a daemon with pipelines paused). */
export class NoopExecutor implements Executor {
  ensure(): void {}
  async stop(): Promise<void> {}
  async stopAll(): Promise<void> {}
  running(): number {
    return 0;
  }
  workerIds(): undefined {
    return undefined;
  }
  setObserver(): void {}
}
