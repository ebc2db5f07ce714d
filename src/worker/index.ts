/**
 * The pipeline worker: the process that runs one pipeline's user code (`sluice worker`). Its
 * parts: the user-code drivers (bubblewrap, unshare) behind `UserCodeDriver`, the datum runner
 * (inputs in, user code, `/pfs/out` uploaded), the log shipper and the transform loop. The
 * spout loops live in `spout/`.
 */
export type { OutputStream, RunRequest, RunResult, UserCodeDriver } from './user-code-driver.js';
export { STDERR_TAIL_LINES } from './user-code-driver.js';
export { BwrapDriver, bwrapStartError, hostRootArgs, type BwrapDriverOptions } from './bwrap-driver.js';
export { UnshareDriver, unshareStartError, UNSHARE_PREAMBLE, type UnshareDriverOptions } from './unshare-driver.js';
export { detectDriver, makeDriver, probeDriver, type DetectOptions, type DriverName } from './detect-driver.js';
export { runSandboxed, signalFollowers, MAX_LINE_CHARS, type SandboxCommand, type SandboxProcessOptions } from './sandbox-process.js';
export { DAEMON_RETRY, backoffDelay, isTransient, retry, sleep, type RetryHooks, type RetryPolicy } from './retry-policy.js';
export { LogShipper, type LogShipperOptions, type LogSink, type ShippedLine } from './log-shipper.js';
export { userCodeEnv, inputMountPath, INHERITED_VARIABLES } from './user-code-env.js';
export { materializeInputs, inputHostPath, type InputSource } from './materialize-inputs.js';
export { collectOutput, packOutput, type OutputFile } from './output-collector.js';
export {
  runDatum, describeRun, joinStdin, safeSegment, defaultScratchRoot, type DatumLog, type DatumRunnerDeps,
} from './datum-runner.js';
export type { UploadFactory, UploadSink, WorkerClient, WorkerDatumResult } from './worker-client.js';
export { runTransformWorker, executorNotice, type TransformWorkerOptions, type TransformWorkerState } from './transform-worker.js';
