/**
 * Turns one positioned document (JSON or YAML) into a normalized `PipelineSpec`.
 *
 * What it accepts, protobuf-JSON style, at every level:
 * - each field under its proto name (`output_branch`) or its lowerCamelCase JSON name
 *   (`outputBranch`); both spellings of one field in one object is an error;
 * - numbers for numeric fields, or strings holding them (`"constant": "1"`), 64-bit integers
 *   included as long as they are exact in a JS number;
 * - `null` for any field, meaning "not set".
 *
 * Unknown fields are errors (PPS_SPEC_SYNTAX), not warnings. Pachyderm's own readers (jsonpb,
 * protojson) refuse them, so a spec Pachyderm accepts never has one; and an ignored typo
 * (`"overwite": true`, `"glog": "/*"`) silently changes what a pipeline does, which is worse
 * than a refusal that names the field, its position and the likely intended name. Fields that
 * Pachyderm knows in any of 1.13, 2.0 or 2.12 are all known here.
 *
 * Leniencies, each reported as a warning that names the field and where it is:
 * - `"spout": true` (seed 001) is read as `"spout": {}`; `"spout": null` likewise (a bare
 *   `spout:` in YAML); `"spout": false` as no spout;
 * - `env` at the top level (seed 001) is applied to `transform.env` (keys already in
 *   `transform.env` win);
 * - `pod_spec` / `pod_patch` given as a JSON value instead of JSON text are serialized.
 *
 * Every other type mismatch is an error that says what was expected and what was found.
 */
import { parseDuration } from './duration.js';
import { type SourceEntry, type SourceNode, type SourcePos, describeNode, malformed, toPlain, where } from './source.js';
import type {
  BuildSpec,
  ChunkSpec,
  ConnectorCommon,
  CronInput,
  DatumSetSpec,
  Determined,
  Egress,
  GitInput,
  GpuSpec,
  HashtreeSpec,
  Input,
  Metadata,
  OpaqueValue,
  ParallelismSpec,
  PfsInput,
  PipelineRef,
  PipelineSpec,
  ResourceSpec,
  SchedulingSpec,
  SecretMount,
  Service,
  SpecPosition,
  Spout,
  SpoutConnector,
  Transform,
  Trigger,
} from './types.js';

export interface DecodeContext {
  file?: string;
  /** Index of this spec in its file, for error details. */
  document: number;
  /** Warnings with the offset they are about, so they can be listed in text order. */
  warnings: SpecWarning[];
  positions: Map<string, SpecPosition>;
}

export interface SpecWarning {
  offset: number;
  message: string;
}

type ObjectNode = Extract<SourceNode, { kind: 'object' }>;

function warn(ctx: DecodeContext, pos: SourcePos, message: string): void {
  ctx.warnings.push({ offset: pos.offset, message: `${where(ctx.file, pos)}: ${message}` });
}

/** Decodes one document; throws PPS_SPEC_SYNTAX on unknown fields and type mismatches. */
export function decodePipelineSpec(root: SourceNode, ctx: DecodeContext): PipelineSpec {
  if (root.kind !== 'object') {
    throw malformed(ctx.file, root.pos, `a pipeline spec must be an object, got ${describeNode(root)}`, { document: ctx.document });
  }
  const f = new Fields(root, '', '', 'the pipeline spec', ctx);
  const spec = decodeTop(f);
  f.finish();
  return spec;
}

function decodeTop(f: Fields): PipelineSpec {
  const spout = f.custom('spout', (node, at) => decodeSpoutValue(node, at, f.ctx));
  const topEnv = f.custom('env', (node, at) => (node.kind === 'null' ? undefined : { env: at.strMapOf(node), keyPos: at.keyPos }));
  const spec: PipelineSpec = {
    pipeline: f.msg('pipeline', decodePipelineRef),
    description: f.str('description'),
    transform: f.msg('transform', decodeTransform),
    input: f.msg('input', decodeInput),
    spout,
    service: f.msg('service', decodeService),
    parallelismSpec: f.msg('parallelism_spec', decodeParallelism),
    outputBranch: f.str('output_branch'),
    egress: f.msg('egress', decodeEgress),
    s3Out: f.bool('s3_out'),
    resourceRequests: f.msg('resource_requests', decodeResources),
    resourceLimits: f.msg('resource_limits', decodeResources),
    sidecarResourceRequests: f.msg('sidecar_resource_requests', decodeResources),
    sidecarResourceLimits: f.msg('sidecar_resource_limits', decodeResources),
    datumSetSpec: f.msg('datum_set_spec', decodeDatumSetSpec),
    datumTimeout: f.duration('datum_timeout'),
    jobTimeout: f.duration('job_timeout'),
    datumTries: f.int('datum_tries'),
    salt: f.str('salt'),
    schedulingSpec: f.msg('scheduling_spec', decodeScheduling),
    podSpec: f.jsonText('pod_spec'),
    podPatch: f.jsonText('pod_patch'),
    metadata: f.msg('metadata', decodeMetadata),
    reprocessSpec: f.str('reprocess_spec'),
    autoscaling: f.bool('autoscaling'),
    tolerations: f.opaqueList('tolerations'),
    determined: f.msg('determined', decodeDetermined),
    specCommit: f.opaque('spec_commit'),
    tfJob: f.opaque('tf_job'),
    update: f.bool('update'),
    reprocess: f.bool('reprocess'),
    dryRun: f.bool('dry_run'),
    enableStats: f.bool('enable_stats'),
    standby: f.bool('standby'),
    cacheSize: f.str('cache_size'),
    maxQueueSize: f.int('max_queue_size'),
    chunkSpec: f.msg('chunk_spec', decodeChunkSpec),
    hashtreeSpec: f.msg('hashtree_spec', decodeHashtreeSpec),
    scaleDownThreshold: f.duration('scale_down_threshold'),
  };
  if (topEnv !== undefined) applyTopLevelEnv(spec, topEnv, f.ctx);
  return withoutUndefined(spec);
}

/** Drops keys whose value is undefined, so an absent message is absent, not present-and-undefined. */
function withoutUndefined<T extends object>(value: T): T {
  // The filtered entries are a subset of T's own, and only undefined (optional) ones go.
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function applyTopLevelEnv(
  spec: PipelineSpec,
  top: { env: Record<string, string>; keyPos: SourcePos },
  ctx: DecodeContext,
): void {
  const at = top.keyPos;
  if (spec.transform === undefined) {
    warn(ctx, at, 'field "env" belongs under "transform", and this spec has no transform; it is ignored');
    return;
  }
  warn(ctx, at, 'field "env" belongs under "transform"; applied to transform.env');
  for (const [k, v] of Object.entries(top.env)) {
    if (Object.prototype.hasOwnProperty.call(spec.transform.env, k)) {
      warn(ctx, at, `transform.env already sets ${JSON.stringify(k)}; the top-level value is ignored`);
    } else {
      spec.transform.env[k] = v;
    }
  }
}

function decodeSpoutValue(node: SourceNode, at: Fields, ctx: DecodeContext): Spout | undefined {
  const here = at.keyPos;
  switch (node.kind) {
    case 'object':
      return at.sub(node, decodeSpout);
    case 'bool':
      if (node.value) {
        warn(ctx, here, '"spout": true is read as "spout": {} (a spout is declared with an object)');
        return emptySpout();
      }
      warn(ctx, here, '"spout": false is read as no spout');
      return undefined;
    case 'null':
      warn(ctx, here, '"spout" has no value; read as "spout": {} (write spout: {} to declare a spout)');
      return emptySpout();
    default:
      throw at.typeError(node, 'an object');
  }
}

function emptySpout(): Spout {
  return { overwrite: false, marker: '' };
}

function decodeSpout(f: Fields): Spout {
  const out: Spout = { overwrite: f.bool('overwrite'), marker: f.str('marker') };
  const service = f.msg('service', decodeService);
  if (service !== undefined) out.service = service;
  const connector = f.msg('connector', decodeConnector);
  if (connector !== undefined) out.connector = connector;
  const batch = f.msg('batch', (b) => ({ maxMessages: b.int('max_messages', { unsigned: true }), maxDelay: b.duration('max_delay') }));
  if (batch !== undefined) out.batch = batch;
  return out;
}

function decodeConnectorCommon(f: Fields): ConnectorCommon {
  return { url: f.str('url'), passwordEnv: f.str('password_env') };
}

function decodeConnector(f: Fields): SpoutConnector {
  const out: SpoutConnector = { format: f.str('format') };
  const redis = f.msg('redis_streams', (c) => ({ ...decodeConnectorCommon(c), stream: c.str('stream'), bodyKey: c.str('body_key'), start: c.str('start') }));
  if (redis !== undefined) out.redisStreams = redis;
  const nats = f.msg('nats_jetstream', (c) => ({ ...decodeConnectorCommon(c), stream: c.str('stream'), subject: c.str('subject'), start: c.str('start') }));
  if (nats !== undefined) out.natsJetstream = nats;
  const amqp = f.msg('amqp', (c) => ({
    ...decodeConnectorCommon(c), queue: c.str('queue'), queueType: c.str('queue_type'), start: c.str('start'), dedupeWindow: c.int('dedupe_window', { unsigned: true }),
  }));
  if (amqp !== undefined) out.amqp = amqp;
  const mqtt = f.msg('mqtt', (c) => ({ ...decodeConnectorCommon(c), topic: c.str('topic'), clientId: c.str('client_id') }));
  if (mqtt !== undefined) out.mqtt = mqtt;
  const pg = f.msg('postgres_cdc', (c) => ({ ...decodeConnectorCommon(c), slot: c.str('slot'), publication: c.str('publication'), tables: c.strList('tables') }));
  if (pg !== undefined) out.postgresCdc = pg;
  return out;
}

function decodePipelineRef(f: Fields): PipelineRef {
  const out: PipelineRef = { name: f.str('name') };
  const project = f.msg('project', (p) => ({ name: p.str('name') }));
  if (project !== undefined) out.project = project;
  return out;
}

function decodeTransform(f: Fields): Transform {
  const out: Transform = {
    image: f.str('image'),
    cmd: f.strList('cmd'),
    errCmd: f.strList('err_cmd'),
    env: f.strMap('env'),
    secrets: f.msgList('secrets', decodeSecret) ?? [],
    imagePullSecrets: f.strList('image_pull_secrets'),
    stdin: f.strList('stdin'),
    errStdin: f.strList('err_stdin'),
    acceptReturnCode: f.intList('accept_return_code'),
    debug: f.bool('debug'),
    user: f.str('user'),
    workingDir: f.str('working_dir'),
    dockerfile: f.str('dockerfile'),
    memoryVolume: f.bool('memory_volume'),
    datumBatching: f.bool('datum_batching'),
  };
  const build = f.msg('build', decodeBuild);
  if (build !== undefined) out.build = build;
  return out;
}

function decodeSecret(f: Fields): SecretMount {
  return { name: f.str('name'), key: f.str('key'), mountPath: f.str('mount_path'), envVar: f.str('env_var') };
}

function decodeBuild(f: Fields): BuildSpec {
  return { path: f.str('path'), language: f.str('language'), image: f.str('image') };
}

function decodeInput(f: Fields): Input {
  const out: Input = {};
  const pfs = f.msg('pfs', decodePfs);
  if (pfs !== undefined) out.pfs = pfs;
  const cron = f.msg('cron', decodeCron);
  if (cron !== undefined) out.cron = cron;
  const git = f.msg('git', decodeGit);
  if (git !== undefined) out.git = git;
  for (const kind of ['cross', 'union', 'join', 'group'] as const) {
    const list = f.msgList(kind, decodeInput);
    if (list !== undefined) out[kind] = list;
  }
  return out;
}

function decodePfs(f: Fields): PfsInput {
  const out: PfsInput = {
    name: f.str('name'),
    project: f.str('project'),
    repo: f.str('repo'),
    repoType: f.str('repo_type'),
    branch: f.str('branch'),
    commit: f.str('commit'),
    glob: f.str('glob'),
    joinOn: f.str('join_on'),
    outerJoin: f.bool('outer_join'),
    groupBy: f.str('group_by'),
    lazy: f.bool('lazy'),
    emptyFiles: f.bool('empty_files'),
    s3: f.bool('s3'),
  };
  const trigger = f.msg('trigger', decodeTrigger);
  if (trigger !== undefined) out.trigger = trigger;
  return out;
}

function decodeTrigger(f: Fields): Trigger {
  return {
    branch: f.str('branch'),
    all: f.bool('all'),
    rateLimitSpec: f.str('rate_limit_spec', ['cron_spec', 'cronSpec']),
    size: f.str('size'),
    commits: f.int('commits'),
  };
}

function decodeCron(f: Fields): CronInput {
  return {
    name: f.str('name'),
    project: f.str('project'),
    repo: f.str('repo'),
    commit: f.str('commit'),
    spec: f.str('spec'),
    overwrite: f.bool('overwrite'),
    start: f.timestamp('start'),
  };
}

function decodeGit(f: Fields): GitInput {
  return { name: f.str('name'), url: f.str('url', ['URL']), branch: f.str('branch'), commit: f.str('commit') };
}

function decodeService(f: Fields): Service {
  return {
    internalPort: f.int('internal_port', { bits: 32 }),
    externalPort: f.int('external_port', { bits: 32 }),
    ip: f.str('ip', ['IP']),
    type: f.str('type'),
    annotations: f.strMap('annotations'),
  };
}

function decodeParallelism(f: Fields): ParallelismSpec {
  return { constant: f.int('constant', { unsigned: true }), coefficient: f.float('coefficient') };
}

function decodeResources(f: Fields): ResourceSpec {
  const out: ResourceSpec = { cpu: f.float('cpu'), memory: f.str('memory'), disk: f.str('disk') };
  const gpu = f.msg('gpu', decodeGpu, 'an object {"type", "number"} (GPUSpec)');
  if (gpu !== undefined) out.gpu = gpu;
  return out;
}

function decodeGpu(f: Fields): GpuSpec {
  return { type: f.str('type'), number: f.int('number') };
}

function decodeEgress(f: Fields): Egress {
  const out: Egress = { url: f.str('URL', ['url']) };
  const objectStorage = f.opaque('object_storage');
  if (objectStorage !== undefined) out.objectStorage = objectStorage;
  const sqlDatabase = f.opaque('sql_database');
  if (sqlDatabase !== undefined) out.sqlDatabase = sqlDatabase;
  return out;
}

function decodeDatumSetSpec(f: Fields): DatumSetSpec {
  return { number: f.int('number'), sizeBytes: f.int('size_bytes'), perWorker: f.int('per_worker') };
}

function decodeChunkSpec(f: Fields): ChunkSpec {
  return { number: f.int('number'), sizeBytes: f.int('size_bytes') };
}

function decodeHashtreeSpec(f: Fields): HashtreeSpec {
  return { constant: f.int('constant', { unsigned: true }) };
}

function decodeScheduling(f: Fields): SchedulingSpec {
  return { nodeSelector: f.strMap('node_selector'), priorityClassName: f.str('priority_class_name') };
}

function decodeMetadata(f: Fields): Metadata {
  return { annotations: f.strMap('annotations'), labels: f.strMap('labels') };
}

function decodeDetermined(f: Fields): Determined {
  return { workspaces: f.strList('workspaces') };
}

// ---------------------------------------------------------------------------------------------
// The field reader

function camel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const INT_RE = /^[-+]?\d+$/;
const FLOAT_RE = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Reads the fields of one object. Each getter names a field by its proto (snake_case) name,
 * finds it under either spelling, checks its type and marks it used; `finish` then refuses
 * whatever was not asked for.
 */
class Fields {
  private readonly used = new Set<SourceEntry>();
  private readonly known: string[] = [];

  constructor(
    private readonly node: ObjectNode,
    /** Canonical snake_case path of this object ('' at the top). */
    private readonly canon: string,
    /** Path as the user spelled it, for messages. */
    private readonly written: string,
    /** How messages name this object ("the pipeline spec", "transform"). */
    private readonly label: string,
    readonly ctx: DecodeContext,
    /** Position of the key that holds this object (the object's own position at the top). */
    readonly keyPos: SourcePos = node.pos,
  ) {}

  private join(base: string, key: string): string {
    return base === '' ? key : `${base}.${key}`;
  }

  /** This object (or, for a `custom` reader, this field) as a FieldRef. */
  private self(): FieldRef {
    return { written: this.written || this.label, canon: this.canon };
  }

  /** The field held by `entry`, known by its proto name `name`. */
  private ref(entry: SourceEntry, name: string): FieldRef {
    return { written: this.join(this.written, entry.key), canon: this.join(this.canon, name) };
  }

  /** Finds the entry for a field, accepting its snake_case and lowerCamelCase spellings. */
  private find(name: string, aliases: readonly string[]): SourceEntry | undefined {
    const names = new Set([name, camel(name), ...aliases]);
    for (const n of names) this.known.push(n);
    let found: SourceEntry | undefined;
    for (const e of this.node.entries) {
      if (!names.has(e.key)) continue;
      if (found !== undefined) {
        throw malformed(this.ctx.file, e.keyPos, `fields ${JSON.stringify(found.key)} and ${JSON.stringify(e.key)} in ${this.label} are the same field`, {
          field: this.join(this.canon, name),
          document: this.ctx.document,
        });
      }
      found = e;
    }
    if (found !== undefined) {
      this.used.add(found);
      this.ctx.positions.set(this.join(this.canon, name), { line: found.keyPos.line, column: found.keyPos.column });
    }
    return found;
  }

  /** The field's value and reference, or undefined when the field is absent or null. */
  private get(name: string, aliases: readonly string[] = []): { entry: SourceEntry; node: SourceNode; at: FieldRef } | undefined {
    const entry = this.find(name, aliases);
    if (entry === undefined || entry.value.kind === 'null') return undefined;
    return { entry, node: entry.value, at: this.ref(entry, name) };
  }

  private error(pos: SourcePos, message: string, at: FieldRef): Error {
    return malformed(this.ctx.file, pos, message, { field: at.canon, document: this.ctx.document });
  }

  typeError(node: SourceNode, expected: string, at: FieldRef = this.self()): Error {
    return this.error(node.pos, `${at.written}: expected ${expected}, got ${describeNode(node)}`, at);
  }

  str(name: string, aliases: readonly string[] = []): string {
    const got = this.get(name, aliases);
    if (got === undefined) return '';
    if (got.node.kind !== 'string') throw this.typeError(got.node, 'a string', got.at);
    return got.node.value;
  }

  bool(name: string): boolean {
    const got = this.get(name);
    if (got === undefined) return false;
    if (got.node.kind !== 'bool') throw this.typeError(got.node, 'true or false', got.at);
    return got.node.value;
  }

  int(name: string, opts: IntOptions = {}): number {
    const got = this.get(name);
    return got === undefined ? 0 : this.intOf(got.node, opts, got.at);
  }

  private intOf(node: SourceNode, opts: IntOptions, at: FieldRef): number {
    const what = opts.unsigned === true ? 'a non-negative integer' : 'an integer';
    let value: number;
    if (node.kind === 'number' && Number.isInteger(node.value)) {
      value = node.value;
    } else if (node.kind === 'string' && INT_RE.test(node.value.trim())) {
      // protobuf JSON writes 64-bit integers as strings
      value = Number(node.value.trim());
    } else {
      throw this.typeError(node, what, at);
    }
    const limit = opts.bits === 32 ? 2 ** 31 - 1 : Number.MAX_SAFE_INTEGER;
    if (Math.abs(value) > limit) throw this.error(node.pos, `${at.written}: ${describeNode(node)} is out of range (at most ${limit})`, at);
    if (opts.unsigned === true && value < 0) throw this.typeError(node, what, at);
    return value === 0 ? 0 : value; // never -0
  }

  float(name: string): number {
    const got = this.get(name);
    if (got === undefined) return 0;
    const node = got.node;
    if (node.kind === 'number') return node.value;
    if (node.kind === 'string' && FLOAT_RE.test(node.value.trim())) return Number(node.value.trim());
    throw this.typeError(node, 'a number', got.at);
  }

  strList(name: string): string[] {
    const got = this.get(name);
    if (got === undefined) return [];
    if (got.node.kind !== 'array') throw this.typeError(got.node, 'an array of strings', got.at);
    const at = got.at;
    return got.node.items.map((item, i) => {
      if (item.kind !== 'string') throw this.typeError(item, 'a string', itemRef(at, i));
      return item.value;
    });
  }

  intList(name: string): number[] {
    const got = this.get(name);
    if (got === undefined) return [];
    if (got.node.kind !== 'array') throw this.typeError(got.node, 'an array of integers', got.at);
    const at = got.at;
    return got.node.items.map((item, i) => this.intOf(item, {}, itemRef(at, i)));
  }

  strMap(name: string): Record<string, string> {
    const got = this.get(name);
    return got === undefined ? {} : this.strMapOf(got.node, got.at);
  }

  /** A map<string, string>: every value must be a string (numbers are not quoted for you). */
  strMapOf(node: SourceNode, at: FieldRef = this.self()): Record<string, string> {
    if (node.kind !== 'object') throw this.typeError(node, 'an object of strings', at);
    const out: Record<string, string> = {};
    for (const e of node.entries) {
      if (e.value.kind === 'null') continue;
      if (e.value.kind !== 'string') {
        throw this.error(e.value.pos, `${at.written}.${e.key}: expected a string (quote it), got ${describeNode(e.value)}`, at);
      }
      out[e.key] = e.value.value;
    }
    return out;
  }

  duration(name: string): string {
    const got = this.get(name);
    if (got === undefined) return '';
    if (got.node.kind !== 'string') throw this.typeError(got.node, 'a duration string such as "60s" or "1h30m"', got.at);
    const parsed = parseDuration(got.node.value);
    if ('error' in parsed) throw this.error(got.node.pos, `${got.at.written}: bad Duration: ${parsed.error}`, got.at);
    return got.node.value;
  }

  timestamp(name: string): string {
    const got = this.get(name);
    if (got === undefined) return '';
    const node = got.node;
    if (node.kind !== 'string' || !RFC3339_RE.test(node.value) || Number.isNaN(Date.parse(node.value))) {
      throw this.typeError(node, 'an RFC 3339 timestamp such as "2024-01-02T15:04:05Z"', got.at);
    }
    return node.value;
  }

  /** JSON text fields (pod_spec, pod_patch): a string, or a JSON value that is serialized. */
  jsonText(name: string): string {
    const got = this.get(name);
    if (got === undefined) return '';
    if (got.node.kind === 'string') return got.node.value;
    if (got.node.kind === 'object' || got.node.kind === 'array') {
      warn(this.ctx, got.entry.keyPos, `${got.at.written} is a JSON value; stored as its JSON text (Pachyderm expects a string)`);
      return JSON.stringify(toPlain(got.node));
    }
    throw this.typeError(got.node, 'a string of JSON', got.at);
  }

  opaque(name: string): OpaqueValue | undefined {
    const got = this.get(name);
    return got === undefined ? undefined : toPlain(got.node);
  }

  opaqueList(name: string): OpaqueValue[] {
    const got = this.get(name);
    if (got === undefined) return [];
    if (got.node.kind !== 'array') throw this.typeError(got.node, 'an array', got.at);
    return got.node.items.map(toPlain);
  }

  msg<T>(name: string, decode: (f: Fields) => T, expected = 'an object'): T | undefined {
    const got = this.get(name);
    if (got === undefined) return undefined;
    if (got.node.kind !== 'object') throw this.typeError(got.node, expected, got.at);
    return this.decodeObject(got.node, got.at, got.entry.keyPos, decode);
  }

  msgList<T>(name: string, decode: (f: Fields) => T): T[] | undefined {
    const got = this.get(name);
    if (got === undefined) return undefined;
    if (got.node.kind !== 'array') throw this.typeError(got.node, 'an array of objects', got.at);
    const at = got.at;
    return got.node.items.map((item, i) => {
      const ref = itemRef(at, i);
      if (item.kind !== 'object') throw this.typeError(item, 'an object', ref);
      this.ctx.positions.set(ref.canon, { line: item.pos.line, column: item.pos.column });
      return this.decodeObject(item, ref, item.pos, decode);
    });
  }

  /** A field whose decoding is special-cased by the caller (leniencies). */
  custom<T>(name: string, decode: (node: SourceNode, at: Fields) => T): T | undefined {
    const entry = this.find(name, []);
    if (entry === undefined) return undefined;
    // `at` stands for the field itself: its paths and label are the field's.
    const ref = this.ref(entry, name);
    return decode(entry.value, new Fields(this.node, ref.canon, ref.written, ref.written, this.ctx, entry.keyPos));
  }

  /** Decodes `node` as the object this reader stands for (used by `custom` readers). */
  sub<T>(node: ObjectNode, decode: (f: Fields) => T): T {
    return this.decodeObject(node, this.self(), this.keyPos, decode);
  }

  private decodeObject<T>(node: ObjectNode, at: FieldRef, keyPos: SourcePos, decode: (f: Fields) => T): T {
    const f = new Fields(node, at.canon, at.written, at.written, this.ctx, keyPos);
    const out = decode(f);
    f.finish();
    return out;
  }

  /** Refuses every field no getter asked for. */
  finish(): void {
    for (const e of this.node.entries) {
      if (this.used.has(e)) continue;
      const hint = suggest(e.key, this.known);
      throw malformed(
        this.ctx.file,
        e.keyPos,
        `unknown field ${JSON.stringify(e.key)} in ${this.label}${hint === undefined ? '' : ` (did you mean ${JSON.stringify(hint)}?)`}`,
        { field: this.join(this.canon, e.key), document: this.ctx.document },
      );
    }
  }
}

interface FieldRef {
  /** As the user spelled it, for messages: `transform.cmd[0]`. */
  written: string;
  /** Canonical snake_case, for details and positions: `transform.cmd[0]`. */
  canon: string;
}

interface IntOptions {
  unsigned?: boolean;
  bits?: 32 | 64;
}

function itemRef(list: FieldRef, i: number): FieldRef {
  return { written: `${list.written}[${i}]`, canon: `${list.canon}[${i}]` };
}

/** The known name closest to `key`, when it is close enough to be a likely typo. */
function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  const lower = key.toLowerCase();
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = k;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(key.length / 3)));
  if (bestDist > limit) return undefined;
  // Answer in the user's spelling style.
  const snake = best.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const wantsSnake = key.includes('_') || !/[A-Z]/.test(key);
  return wantsSnake && known.includes(snake) ? snake : best;
}

/**
 * Edit distance counting a swap of two neighbouring letters as one edit (optimal string
 * alignment): the commonest typo (`imgae` for `image`) is one edit, not two, so it gets a hint.
 */
function editDistance(a: string, b: string): number {
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_v, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
