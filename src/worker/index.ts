/**
 * The pipeline worker: the process that runs one pipeline's user code (`sluice worker`). Its
 * parts: the user-code drivers (bubblewrap, unshare) behind `UserCodeDriver`, the datum runner
 * (inputs in, user code, `/pfs/out` uploaded), the log shipper, the transform loop and the
 * spout loop (its parts, the pipe reader, the archive committer, the marker and the spouts-2.0
 * environment, live in `spout/`).
 */
export type { OutputStream, ReadOnlyBind, RunRequest, RunResult, UserCodeDriver } from './user-code-driver.js';
export { STDERR_TAIL_LINES, readOnlyBindsProblem } from './user-code-driver.js';
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
export {
  runSpoutWorker, spoutSpec, SPOUT_RESTART, type SpoutRestartPolicy, type SpoutSpec, type SpoutWorkerOptions, type SpoutWorkerState,
} from './spout-worker.js';
export type { SpoutClient, SpoutUpload, SpoutUploadFactory } from './spout/spout-client.js';
export { ArchiveCommitter, type ArchiveCommitterOptions, type CommittedArchive } from './spout/archive-committer.js';
export { runSpoutOnce, describeOutcome, type SpoutProgram, type SpoutRunDeps, type SpoutRunOutcome } from './spout/spout-run.js';
export { downloadMarker, isMarkerEntry, markerPath, MARKER_BRANCH, type DownloadedMarker, type MarkerSource } from './spout/marker.js';
export {
  prepareSpoutEnvironment, spoutConfig, spoutUserCodeEnv, SPOUT_BIN_DIR, SPOUT_CONFIG_DIR, SPOUT_CONFIG_PATH, SPOUT_CONTEXT,
  type SpoutEnvironment, type SpoutEnvironmentOptions, type SpoutUserCodeEnvOptions,
} from './spout/spout-env.js';
export { makeFifo, openFifoSource, type FifoEvent, type FifoSource, type FifoSourceOptions } from './spout/fifo-source.js';
export {
  ArchiveReader, readArchiveEvents, readArchives, type Archive, type ArchiveEvent, type ArchiveReaderOptions, type EntryHeader,
} from './spout/archive-reader.js';
export {
  runConnectorWorker, connectorSpec, CONNECTOR_MARKER, type ConnectorClient, type ConnectorSpec, type ConnectorWorkerOptions,
} from './connector/connector-worker.js';
export type { ConnectorMessage, ConnectorSource, ConnectorContext, Delivery } from './connector/connector-source.js';
