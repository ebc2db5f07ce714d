/**
 * The normalized pipeline spec: what `parseSpecs` produces from any accepted spelling of a
 * Pachyderm pipeline spec (1.13, 2.0 or 2.12; JSON or YAML; snake_case or lowerCamelCase).
 *
 * Promises:
 * - Field names are lowerCamelCase, one name per field whatever the input spelling.
 * - proto3 semantics for scalars: inside a message that is present, every string, number,
 *   boolean, list and map field is present with its zero value (`''`, `0`, `false`, `[]`, `{}`)
 *   when the input left it out. Message-typed fields (`transform`, `input`, `spout`, …) are
 *   `undefined` when absent, because their presence means something (`spout: {}` makes a
 *   spout; `input` absent is "no input").
 * - 64-bit integers are JS numbers; the parser refuses values beyond `Number.MAX_SAFE_INTEGER`.
 * - Durations (`datumTimeout`, `jobTimeout`) are the strings as written, already checked to be
 *   Go/protobuf durations (`"60s"`, `"1m30s"`); timestamps (`cron.start`) are RFC 3339 strings.
 * - Fields that Sluice records but does not interpret (Kubernetes scheduling, tolerations,
 *   egress targets, `specCommit`, `tfJob`) are kept as plain JSON values (`OpaqueValue`) so that
 *   `inspect pipeline` can show them.
 *
 * After `applyDefaults` the defaulted fields are filled in (see defaults.ts); after
 * `validateSpec` the spec is a `ValidPipelineSpec`.
 */

/** A JSON value kept as written (objects keep the keys the user wrote). */
export type OpaqueValue = null | boolean | number | string | OpaqueValue[] | { [key: string]: OpaqueValue };

export interface ProjectRef {
  name: string;
}

export interface PipelineRef {
  name: string;
  /** 2.x projects; absent means the default project. */
  project?: ProjectRef;
}

export interface SecretMount {
  name: string;
  key: string;
  mountPath: string;
  envVar: string;
}

/** 1.13 `transform.build`: pachctl built the image from source. */
export interface BuildSpec {
  path: string;
  language: string;
  image: string;
}

export interface Transform {
  image: string;
  cmd: string[];
  errCmd: string[];
  env: Record<string, string>;
  secrets: SecretMount[];
  imagePullSecrets: string[];
  stdin: string[];
  errStdin: string[];
  acceptReturnCode: number[];
  debug: boolean;
  user: string;
  workingDir: string;
  dockerfile: string;
  memoryVolume: boolean;
  datumBatching: boolean;
  build?: BuildSpec;
}

/** pfs.Trigger: when an input branch moves forward. */
export interface Trigger {
  branch: string;
  all: boolean;
  /** 2.x `rate_limit_spec`; 1.x spelled it `cron_spec` (both land here). */
  rateLimitSpec: string;
  size: string;
  commits: number;
}

export interface PfsInput {
  name: string;
  project: string;
  repo: string;
  repoType: string;
  branch: string;
  commit: string;
  glob: string;
  joinOn: string;
  outerJoin: boolean;
  groupBy: string;
  lazy: boolean;
  emptyFiles: boolean;
  s3: boolean;
  trigger?: Trigger;
}

export interface CronInput {
  name: string;
  project: string;
  repo: string;
  commit: string;
  spec: string;
  overwrite: boolean;
  /** RFC 3339 time of the first tick; empty until defaults fill it (if asked to). */
  start: string;
}

/** 1.x githook input; known so that it can be refused by name (see validate.ts). */
export interface GitInput {
  name: string;
  url: string;
  branch: string;
  commit: string;
}

/** Exactly one member should be set; validation enforces it ("multiple input types set"). */
export interface Input {
  pfs?: PfsInput;
  cron?: CronInput;
  git?: GitInput;
  cross?: Input[];
  union?: Input[];
  join?: Input[];
  group?: Input[];
}

export interface Service {
  internalPort: number;
  externalPort: number;
  ip: string;
  type: string;
  /** 1.x only. */
  annotations: Record<string, string>;
}

export interface Spout {
  /** 1.x: each tar entry replaces the file (true) or appends to it (false). */
  overwrite: boolean;
  /** 1.x: the marker file/directory name (`/pfs/out/<marker>`, previous one at `/pfs/<marker>`). */
  marker: string;
  service?: Service;
  /** Sluice: a built-in source the worker itself reads (no transform); see docs/connectors.md. */
  connector?: SpoutConnector;
  /** Sluice: how a connector's messages are grouped into commits. */
  batch?: SpoutBatch;
}

/** The built-in sources a connector spout can read; exactly one is set. */
export const CONNECTOR_KINDS = ['redisStreams', 'natsJetstream', 'amqp', 'mqtt', 'postgresCdc'] as const;
export type ConnectorKind = (typeof CONNECTOR_KINDS)[number];

/** `spout.connector`: exactly one source, and the layout of its files. */
export interface SpoutConnector {
  redisStreams?: RedisStreamsConnector;
  natsJetstream?: NatsJetstreamConnector;
  amqp?: AmqpConnector;
  mqtt?: MqttConnector;
  postgresCdc?: PostgresCdcConnector;
  /** `''`/`files`: one file per message at `/<id>`; `jsonl`: one file per UTC day, a line per message. */
  format: string;
}

/** Fields every source has. */
export interface ConnectorCommon {
  /** The broker's URL (`redis://host:6379`, `nats://host:4222`, `amqp://user@host`, `mqtt://host:1883`, `postgres://…`). */
  url: string;
  /** The name of an environment variable of the worker holding the password (set into the URL). */
  passwordEnv: string;
}

export interface RedisStreamsConnector extends ConnectorCommon {
  stream: string;
  /** The entry field that is the message body (default `body`); the other fields are headers. */
  bodyKey: string;
  /** First run only: `earliest` (default), `latest`, or an entry id to start after. */
  start: string;
}

export interface NatsJetstreamConnector extends ConnectorCommon {
  stream: string;
  /** Only messages on this subject (wildcards allowed); `''` for all of the stream. */
  subject: string;
  /** First run only: `earliest` (default), `latest`, or a stream sequence to start at. */
  start: string;
}

export interface AmqpConnector extends ConnectorCommon {
  queue: string;
  /** `classic` (default), `quorum` or `stream` (`x-queue-type`); the queue must exist. */
  queueType: string;
  /** Stream queues, first run only: `earliest` (default), `latest`, or an offset to start at. */
  start: string;
  /** Classic/quorum: how many committed message ids the marker keeps to drop redeliveries. */
  dedupeWindow: number;
}

export interface MqttConnector extends ConnectorCommon {
  topic: string;
  /** The persistent session's client id (default `sluice-<pipeline>`). */
  clientId: string;
}

export interface PostgresCdcConnector extends ConnectorCommon {
  slot: string;
  publication: string;
  /** Tables of the publication when it is created (`''`/empty: all tables). */
  tables: string[];
}

/** `spout.batch`: a commit is made at `maxMessages` messages or `maxDelay` after the first one. */
export interface SpoutBatch {
  maxMessages: number;
  /** Go/protobuf duration string. */
  maxDelay: string;
}

export interface ParallelismSpec {
  constant: number;
  /** 1.x only: workers = coefficient × nodes. */
  coefficient: number;
}

export interface GpuSpec {
  type: string;
  number: number;
}

export interface ResourceSpec {
  cpu: number;
  memory: string;
  gpu?: GpuSpec;
  disk: string;
}

export interface Egress {
  url: string;
  objectStorage?: OpaqueValue;
  sqlDatabase?: OpaqueValue;
}

export interface DatumSetSpec {
  number: number;
  sizeBytes: number;
  perWorker: number;
}

/** 1.x predecessor of DatumSetSpec. */
export interface ChunkSpec {
  number: number;
  sizeBytes: number;
}

export interface HashtreeSpec {
  constant: number;
}

export interface SchedulingSpec {
  nodeSelector: Record<string, string>;
  priorityClassName: string;
}

export interface Metadata {
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

export interface Determined {
  workspaces: string[];
}

export const REPROCESS_SPECS = ['until_success', 'every_job'] as const;
export type ReprocessSpec = (typeof REPROCESS_SPECS)[number];

export interface PipelineSpec {
  pipeline?: PipelineRef;
  description: string;
  transform?: Transform;
  input?: Input;
  spout?: Spout;
  service?: Service;
  parallelismSpec?: ParallelismSpec;
  outputBranch: string;
  egress?: Egress;
  s3Out: boolean;
  resourceRequests?: ResourceSpec;
  resourceLimits?: ResourceSpec;
  sidecarResourceRequests?: ResourceSpec;
  sidecarResourceLimits?: ResourceSpec;
  datumSetSpec?: DatumSetSpec;
  /** Go/protobuf duration string, `''` when unset. */
  datumTimeout: string;
  /** Go/protobuf duration string, `''` when unset. */
  jobTimeout: string;
  datumTries: number;
  salt: string;
  schedulingSpec?: SchedulingSpec;
  /** JSON text (Pachyderm stores these as strings; a JSON value in the spec is serialized). */
  podSpec: string;
  podPatch: string;
  metadata?: Metadata;
  /** `''` until defaults set `until_success`; validation accepts only `REPROCESS_SPECS`. */
  reprocessSpec: string;
  autoscaling: boolean;
  tolerations: OpaqueValue[];
  determined?: Determined;
  specCommit?: OpaqueValue;
  tfJob?: OpaqueValue;
  /** Request flags (`update pipeline`, `--reprocess`, 2.x `--dry-run`). */
  update: boolean;
  reprocess: boolean;
  dryRun: boolean;
  // 1.x-only fields, kept so 1.x specs round-trip.
  enableStats: boolean;
  standby: boolean;
  cacheSize: string;
  maxQueueSize: number;
  chunkSpec?: ChunkSpec;
  hashtreeSpec?: HashtreeSpec;
  scaleDownThreshold: string;
}

/** What `validateSpec` guarantees on top of `PipelineSpec`. */
export type ValidPipelineSpec = PipelineSpec & { pipeline: PipelineRef } & (
  | { transform: Transform }
  /** A connector spout runs no user code: it has no transform. */
  | { transform?: undefined; spout: Spout & { connector: SpoutConnector } }
);

/** Where a parsed spec came from. `index` counts specs in the file from 0; `line` is 1-based. */
export interface SpecSource {
  file?: string;
  index: number;
  line: number;
}

/** A 1-based line and column in the spec text (columns count UTF-16 code units). */
export interface SpecPosition {
  line: number;
  column: number;
}

export interface ParsedSpec {
  spec: PipelineSpec;
  /** Human-readable notes about leniencies applied; each names the field and its position. */
  warnings: string[];
  /** The document as written (keys as the user spelled them), as a plain JSON value. */
  raw: unknown;
  source: SpecSource;
  /**
   * Position of each field that was present in the text, keyed by its canonical snake_case
   * path (`transform.image`, `input.cross[1].pfs.glob`). Pass to `validateSpec` so that its
   * errors can point at a line and column.
   */
  positions: Map<string, SpecPosition>;
}
