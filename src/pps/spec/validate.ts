/**
 * Pure validation of a pipeline spec, with Pachyderm's own messages where Pachyderm has one
 * (reference §3.2; 2.x `ValidatePipelineRequest` + `validatePipeline`, plus the 1.13 spout
 * checks). Whether input repos exist, whether a pipeline of that name exists, and auth are the
 * controller's business, not this module's.
 *
 * Promises:
 * - `validateSpec` never modifies its argument. It judges the spec as Pachyderm does after its
 *   server-side defaults (an empty `transform.image`, `pfs.name` or `pfs.branch` is fine,
 *   because defaults.ts fills them), so it may be called before or after `applyDefaults`.
 * - Every refusal is PPS_SPEC_INVALID with the message alone (no prefix), and `details` =
 *   { field, file?, line?, column? }: `field` is the canonical snake_case path
 *   (`input.cross[1].pfs.glob`); line and column come from the `positions` of the ParsedSpec
 *   when given (the field's own, or the nearest enclosing field that was written).
 * - The first problem found is reported, in Pachyderm's order: request checks (name,
 *   transform, s3_out, reprocess_spec, autoscaling), then inputs, parallelism, output branch,
 *   timeouts, pod spec/patch, service, spout.
 *
 * Deliberate additions beyond Pachyderm (each says so in its message): git inputs (1.x
 * githooks) are refused as unsupported; input names that are not a single path element are
 * refused (they become directories under /pfs); a glob that does not compile is refused;
 * negative `datum_tries` and timeouts are refused;
 * `pfs.repo` missing is reported before the (derived) name is; a spout marker must also not
 * climb (`..`) or start with `out/`.
 */
import { CronExpressionParser } from 'cron-parser';
import { SluiceError } from '../../errors/index.js';
import { MAX_NAME_LENGTH, isValidName } from '../../lib/names.js';
import { compileGlob } from '../../lib/pach-glob.js';
import { DEFAULT_SERVICE_TYPE } from './defaults.js';
import { parseDuration } from './duration.js';
import {
  CONNECTOR_KINDS, type ConnectorKind, type Input, type ParsedSpec, type PipelineSpec, REPROCESS_SPECS, type SpecPosition, type Spout, type SpoutConnector,
  type ValidPipelineSpec,
} from './types.js';

const CONNECTOR_URL_EXAMPLES: Record<ConnectorKind, string> = {
  redisStreams: 'redis://127.0.0.1:6379',
  natsJetstream: 'nats://127.0.0.1:4222',
  amqp: 'amqp://guest@127.0.0.1:5672',
  mqtt: 'mqtt://127.0.0.1:1883',
  postgresCdc: 'postgres://user@127.0.0.1:5432/db',
};

/** `redisStreams` -> `redis_streams`, as the field is written in specs. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);
}

export interface ValidateOptions {
  file?: string;
  /** Field positions from `ParsedSpec.positions`. */
  positions?: ReadonlyMap<string, SpecPosition>;
}

const PIPELINE_NAME_RE = /^[a-zA-Z0-9_-]+$/; // the rule of lib/names.ts, checked apart from length
const SERVICE_TYPES = new Set(['ClusterIP', 'LoadBalancer', 'NodePort']);
const OUT = 'out';

/** Throws PPS_SPEC_INVALID for the first problem; on return the spec is a ValidPipelineSpec. */
export function validateSpec(spec: PipelineSpec, opts: ValidateOptions = {}): asserts spec is ValidPipelineSpec {
  new Validator(opts).run(spec);
}

/** `validateSpec` with the file name and positions of a parsed spec. */
export function validateParsedSpec(parsed: ParsedSpec): asserts parsed is ParsedSpec & { spec: ValidPipelineSpec } {
  validateSpec(parsed.spec, { ...(parsed.source.file === undefined ? {} : { file: parsed.source.file }), positions: parsed.positions });
}

class Validator {
  constructor(private readonly opts: ValidateOptions) {}

  private fail(message: string, field: string): SluiceError {
    const details: Record<string, unknown> = { field };
    if (this.opts.file !== undefined) details.file = this.opts.file;
    const pos = this.locate(field);
    if (pos !== undefined) {
      details.line = pos.line;
      details.column = pos.column;
    }
    return new SluiceError('PPS_SPEC_INVALID', message, { details });
  }

  /** The position of `field`, or of its nearest enclosing field that appears in the text. */
  private locate(field: string): SpecPosition | undefined {
    const positions = this.opts.positions;
    if (positions === undefined) return undefined;
    let path = field;
    while (path !== '') {
      const pos = positions.get(path);
      if (pos !== undefined) return pos;
      const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
      path = cut <= 0 ? '' : path.slice(0, cut);
    }
    return undefined;
  }

  run(spec: PipelineSpec): void {
    this.request(spec);
    const name = spec.pipeline?.name ?? '';
    const first = name[0] ?? '';
    if (!/[A-Za-z0-9]/.test(first)) throw this.fail('pipeline names must start with an alphanumeric character', 'pipeline.name');
    this.inputs(spec);
    this.parallelism(spec);
    this.output(spec);
    this.timeouts(spec);
    if (spec.podSpec !== '' && !isJson(spec.podSpec)) throw this.fail('malformed PodSpec', 'pod_spec');
    if (spec.podPatch !== '' && !isJson(spec.podPatch)) throw this.fail('malformed PodPatch', 'pod_patch');
    if (spec.service !== undefined) this.serviceType(spec.service.type, 'service.type');
    if (spec.egress?.objectStorage !== undefined && spec.egress.sqlDatabase !== undefined) {
      throw this.fail('egress can set only one of object_storage and sql_database', 'egress');
    }
    this.spout(spec);
  }

  /** Pachyderm's `ValidatePipelineRequest`: checks on the request as written. */
  private request(spec: PipelineSpec): void {
    if (spec.pipeline === undefined) throw this.fail('invalid pipeline spec: request.Pipeline cannot be nil', 'pipeline');
    const name = spec.pipeline.name;
    if (name === '') throw this.fail('invalid pipeline spec: request.Pipeline.Name cannot be empty', 'pipeline.name');
    if (!PIPELINE_NAME_RE.test(name)) {
      throw this.fail(
        `invalid pipeline name: name (${name}) invalid: only alphanumeric characters, underscores, and dashes are allowed`,
        'pipeline.name',
      );
    }
    if (name.length > MAX_NAME_LENGTH) {
      throw this.fail(`pipeline name is ${name.length} characters long, but must have at most ${MAX_NAME_LENGTH}: ${goQuote(name)}`, 'pipeline.name');
    }
    if (spec.tfJob !== undefined) throw this.fail('embedding TFJobs in pipelines is not supported yet', 'tf_job');
    if (spec.s3Out && (spec.service !== undefined || spec.spout !== undefined)) {
      throw this.fail('s3 output is not supported in spouts or services', 's3_out');
    }
    if (spec.spout?.connector !== undefined) {
      // A connector spout runs no user code: the worker itself reads the source.
      if (spec.transform !== undefined) {
        throw this.fail('a spout with a connector runs no user code: remove "transform" (or remove "spout.connector" to run your own code)', 'transform');
      }
    } else if (spec.transform === undefined) {
      throw this.fail('pipeline must specify a transform', 'transform');
    }
    if (spec.reprocessSpec !== '' && !(REPROCESS_SPECS as readonly string[]).includes(spec.reprocessSpec)) {
      throw this.fail("invalid pipeline spec: ReprocessSpec must be one of 'until_success' or 'every_job'", 'reprocess_spec');
    }
    if (spec.spout !== undefined && spec.autoscaling) {
      throw this.fail("autoscaling can't be used with spouts (spouts aren't triggered externally)", 'autoscaling');
    }
    if (spec.spout !== undefined && spec.service !== undefined) {
      throw this.fail('only one of pipeline.service or pipeline.spout can be set', 'service');
    }
    if (spec.spout !== undefined && spec.transform?.build !== undefined) {
      throw this.fail('build step-enabled pipelines do not work with spouts', 'transform.build');
    }
  }

  private inputs(spec: PipelineSpec): void {
    const input = spec.input;
    if (input === undefined) {
      if (spec.spout === undefined) throw this.fail('no input set', 'input');
      return;
    }
    this.input(input, 'input');
    this.names(new Set(), input, 'input');
  }

  /** Per-input checks (Pachyderm's `validateInput` visitor), children first. */
  private input(input: Input, path: string): void {
    for (const kind of ['cross', 'join', 'group', 'union'] as const) {
      input[kind]?.forEach((child, i) => this.input(child, `${path}.${kind}[${i}]`));
    }
    let set = 0;
    const pfs = input.pfs;
    if (pfs !== undefined) {
      set++;
      const at = `${path}.pfs`;
      const name = effectivePfsName(input);
      if (pfs.repo === '') throw this.fail('input must specify a repo', `${at}.repo`);
      if (name === '') throw this.fail('input must specify a name', `${at}.name`);
      this.inputName(name, pfs.name === '' ? `${at}.repo` : `${at}.name`);
      if (!pfs.s3 && pfs.glob === '') throw this.fail('input must specify a glob', `${at}.glob`);
      if (pfs.glob !== '') this.glob(pfs.glob, `${at}.glob`);
      if (pfs.s3 && pfs.glob !== '/') {
        throw this.fail(
          `inputs that set 's3' to 'true' must also set 'glob', to "/", as the S3 gateway is only able to expose data at the commit level`,
          `${at}.glob`,
        );
      }
      if (pfs.s3 && pfs.lazy) {
        throw this.fail(
          "input cannot specify both 's3' and 'lazy', as 's3' requires input data to be accessed via Pachyderm's S3 gateway rather than the file system",
          `${at}.lazy`,
        );
      }
      if (pfs.s3 && pfs.emptyFiles) {
        throw this.fail(
          "input cannot specify both 's3' and 'empty_files', as 's3' requires input data to be accessed via Pachyderm's S3 gateway rather than the file system",
          `${at}.empty_files`,
        );
      }
      if (pfs.commit !== '') throw this.fail('input cannot come from a commit; use a branch with head pointing to the commit', `${at}.commit`);
    }
    for (const kind of ['cross', 'join', 'group', 'union'] as const) {
      const children = input[kind];
      if (children === undefined) continue;
      if (set++ > 0) throw this.fail('multiple input types set', `${path}.${kind}`);
      if (kind !== 'cross' && children.some(containsS3)) {
        throw this.fail(`S3 inputs in ${kind} expressions are not supported`, `${path}.${kind}`);
      }
    }
    const cron = input.cron;
    if (cron !== undefined) {
      if (set++ > 0) throw this.fail('multiple input types set', `${path}.cron`);
      if (cron.name === '') throw this.fail('input must specify a name', `${path}.cron.name`);
      this.inputName(cron.name, `${path}.cron.name`);
      const parsed = parseCronSpec(cron.spec);
      if ('error' in parsed) throw this.fail(`error parsing cron-spec: ${parsed.error}`, `${path}.cron.spec`);
    }
    if (input.git !== undefined) {
      if (set++ > 0) throw this.fail('multiple input types set', `${path}.git`);
      throw this.fail('git inputs are not supported by Sluice (Pachyderm removed githook inputs in 2.0)', `${path}.git`);
    }
    if (set === 0) throw this.fail('no input set', path);
  }

  /** A glob Sluice cannot compile would fail every job: refuse it at create time (Sluice's addition). */
  private glob(glob: string, field: string): void {
    try {
      compileGlob(glob);
    } catch (err) {
      throw this.fail(err instanceof Error ? err.message : String(err), field);
    }
  }

  /** An input name becomes the directory /pfs/<name>: refuse `out` and anything not one element. */
  private inputName(name: string, field: string): void {
    if (name === OUT) {
      throw this.fail('input cannot be named "out", as pachyderm already creates /pfs/out to collect job output', field);
    }
    if (name.includes('/') || name === '.' || name === '..' || name.includes('\0')) {
      throw this.fail(`input name ${goQuote(name)} is not a valid file name (it becomes the directory /pfs/<name>)`, field);
    }
  }

  /**
   * Pachyderm's `validateNames`: names must be unique across the inputs a datum combines;
   * the branches of a union may reuse names (only one of them is present in any datum).
   */
  private names(names: Set<string>, input: Input, path: string): void {
    if (input.pfs !== undefined) {
      this.claim(names, effectivePfsName(input), `${path}.pfs`);
    } else if (input.cron !== undefined) {
      this.claim(names, input.cron.name, `${path}.cron`);
    } else if (input.git !== undefined) {
      this.claim(names, input.git.name, `${path}.git`);
    } else if (input.union !== undefined) {
      const merged: string[] = [];
      input.union.forEach((child, i) => {
        const copy = new Set(names);
        this.names(copy, child, `${path}.union[${i}]`);
        merged.push(...copy);
      });
      for (const n of merged) names.add(n);
    } else {
      for (const kind of ['cross', 'join', 'group'] as const) {
        input[kind]?.forEach((child, i) => this.names(names, child, `${path}.${kind}[${i}]`));
      }
    }
  }

  private claim(names: Set<string>, name: string, field: string): void {
    if (names.has(name)) throw this.fail(`name "${name}" was used more than once`, field);
    names.add(name);
  }

  private parallelism(spec: PipelineSpec): void {
    const p = spec.parallelismSpec;
    if (p === undefined) return;
    if (p.coefficient < 0) throw this.fail('ParallelismSpec.Coefficient cannot be negative', 'parallelism_spec.coefficient');
    if (p.constant !== 0 && p.coefficient !== 0) {
      throw this.fail(
        'contradictory parallelism strategies: must set at most one of ParallelismSpec.Constant and ParallelismSpec.Coefficient',
        'parallelism_spec',
      );
    }
    if (spec.service !== undefined && p.constant !== 1) {
      throw this.fail('services can only be run with a constant parallelism of 1', 'parallelism_spec.constant');
    }
  }

  private output(spec: PipelineSpec): void {
    const branch = spec.outputBranch;
    if (branch !== '' && !isValidName(branch)) {
      throw this.fail(
        `invalid output branch: branch name (${branch}) invalid: only alphanumeric characters, underscores, and dashes are allowed (at most ${MAX_NAME_LENGTH})`,
        'output_branch',
      );
    }
    if (spec.datumTries < 0) throw this.fail(`datum_tries cannot be negative: ${spec.datumTries}`, 'datum_tries');
  }

  private timeouts(spec: PipelineSpec): void {
    for (const [field, value] of [
      ['datum_timeout', spec.datumTimeout],
      ['job_timeout', spec.jobTimeout],
    ] as const) {
      if (value === '') continue;
      const d = parseDuration(value);
      if ('error' in d) throw this.fail(`bad Duration: ${d.error}`, field);
      if (d.ms < 0) throw this.fail(`${field} cannot be negative: ${value}`, field);
    }
  }

  private serviceType(type: string, field: string): void {
    const effective = type === '' ? DEFAULT_SERVICE_TYPE : type;
    if (!SERVICE_TYPES.has(effective)) throw this.fail(`the following service type ${effective} is not allowed`, field);
  }

  private spout(spec: PipelineSpec): void {
    const spout = spec.spout;
    if (spout === undefined) return;
    if (spec.enableStats) throw this.fail('spouts are not allowed to have a stats branch', 'enable_stats');
    if (spout.marker !== '' && !isValidMarker(spout.marker)) {
      throw this.fail(`the spout marker name must be a valid filename: ${spout.marker}`, 'spout.marker');
    }
    if (spout.service !== undefined) this.serviceType(spout.service.type, 'spout.service.type');
    if (spout.service === undefined && spec.input !== undefined) {
      throw this.fail('spout pipelines (without a service) must not have an input', 'input');
    }
    if (spout.batch !== undefined && spout.connector === undefined) {
      throw this.fail('spout.batch applies to connector spouts only: add spout.connector or remove spout.batch', 'spout.batch');
    }
    if (spout.connector !== undefined) this.connector(spout.connector, spout);
  }

  /** `spout.connector`: exactly one source with its required fields, a known format. */
  private connector(c: SpoutConnector, spout: Spout): void {
    const set = CONNECTOR_KINDS.filter((k) => c[k] !== undefined);
    const names = CONNECTOR_KINDS.map(snake).join(', ');
    if (set.length === 0) throw this.fail(`spout.connector must name one source: one of ${names}`, 'spout.connector');
    if (set.length > 1) throw this.fail(`spout.connector names ${set.length} sources (${set.map(snake).join(', ')}); a connector spout reads exactly one`, `spout.connector.${snake(set[1]!)}`);
    if (spout.service !== undefined) throw this.fail('a connector spout cannot also be a service', 'spout.service');
    if (spout.overwrite) throw this.fail('spout.overwrite does not apply to connector spouts (the layout is set by spout.connector.format)', 'spout.overwrite');
    if (!['', 'files', 'jsonl'].includes(c.format)) throw this.fail(`spout.connector.format must be "files" (the default) or "jsonl", not ${goQuote(c.format)}`, 'spout.connector.format');
    const kind = set[0]!;
    const at = `spout.connector.${snake(kind)}`;
    if (kind === 'postgresCdc') throw this.fail('spout.connector.postgres_cdc is not built in yet (see docs/connectors.md); the other sources are redis_streams, nats_jetstream, amqp and mqtt', at);
    const need = (value: string, field: string): void => {
      if (value === '') throw this.fail(`${at}.${field} is required`, `${at}.${field}`);
    };
    const cfg = c[kind]!;
    need(cfg.url, 'url');
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(cfg.url)) throw this.fail(`${at}.url must be a URL such as ${CONNECTOR_URL_EXAMPLES[kind]}, not ${goQuote(cfg.url)}`, `${at}.url`);
    if (cfg.passwordEnv !== '' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(cfg.passwordEnv)) {
      throw this.fail(`${at}.password_env must be the name of an environment variable, not ${goQuote(cfg.passwordEnv)}`, `${at}.password_env`);
    }
    const start = (value: string, what: string): void => {
      if (value === '' || value === 'earliest' || value === 'latest' || /^\d+(-\d+)?$/.test(value)) return;
      throw this.fail(`${at}.start must be "earliest", "latest" or ${what}, not ${goQuote(value)}`, `${at}.start`);
    };
    if (c.redisStreams !== undefined) {
      need(c.redisStreams.stream, 'stream');
      start(c.redisStreams.start, 'an entry id (1700000000000-0)');
    } else if (c.natsJetstream !== undefined) {
      need(c.natsJetstream.stream, 'stream');
      start(c.natsJetstream.start, 'a stream sequence number');
      if (c.natsJetstream.start.includes('-')) throw this.fail(`${at}.start must be a stream sequence number, not ${goQuote(c.natsJetstream.start)}`, `${at}.start`);
    } else if (c.amqp !== undefined) {
      need(c.amqp.queue, 'queue');
      if (!['', 'classic', 'quorum', 'stream'].includes(c.amqp.queueType)) {
        throw this.fail(`${at}.queue_type must be "classic" (the default), "quorum" or "stream", not ${goQuote(c.amqp.queueType)}`, `${at}.queue_type`);
      }
      start(c.amqp.start, 'a stream offset');
      if (c.amqp.start !== '' && c.amqp.queueType !== 'stream') throw this.fail(`${at}.start applies to stream queues only (queue_type "stream")`, `${at}.start`);
    } else if (c.mqtt !== undefined) {
      need(c.mqtt.topic, 'topic');
    } else if (c.postgresCdc !== undefined) {
      need(c.postgresCdc.slot, 'slot');
      need(c.postgresCdc.publication, 'publication');
      for (const [i, id] of [['slot', c.postgresCdc.slot], ['publication', c.postgresCdc.publication]] as const) {
        if (!/^[a-z_][a-z0-9_]*$/.test(id)) throw this.fail(`${at}.${i} must be a lower-case SQL identifier (letters, digits, _), not ${goQuote(id)}`, `${at}.${i}`);
      }
    }
    if (spout.batch !== undefined && spout.batch.maxDelay !== '') {
      const d = parseDuration(spout.batch.maxDelay);
      if ('error' in d || d.ms < 0) throw this.fail(`spout.batch.max_delay must be a duration such as "200ms", not ${goQuote(spout.batch.maxDelay)}`, 'spout.batch.max_delay');
    }
  }
}

function effectivePfsName(input: Input): string {
  const pfs = input.pfs;
  if (pfs === undefined) return '';
  return pfs.name === '' ? pfs.repo : pfs.name;
}

function containsS3(input: Input): boolean {
  if (input.pfs?.s3 === true) return true;
  for (const kind of ['cross', 'join', 'group', 'union'] as const) {
    if (input[kind]?.some(containsS3) === true) return true;
  }
  return false;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Go's %q for the names we print (ASCII after the name checks); JSON quoting matches it. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

const GLOB_CHARS_RE = /[*?[\]{}!]/;

/**
 * Pachyderm 1.13: a marker must be a valid PFS path (printable ASCII, no glob characters) and
 * not `out`. It is also linked as /pfs/<marker>, so it must not climb out of /pfs or land in
 * /pfs/out.
 */
export function isValidMarker(marker: string): boolean {
  if (!/^[ -~]+$/.test(marker) || GLOB_CHARS_RE.test(marker)) return false;
  const parts = marker.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return false;
  return parts[0] !== OUT;
}

// ---------------------------------------------------------------------------------------------
// Cron specs, read as Pachyderm reads them (robfig/cron's ParseStandard).

export type CronSchedule =
  /** `@every <duration>`: ticks every `everyMs` milliseconds (at least one second). */
  | { kind: 'every'; everyMs: number }
  /** A five-field cron expression (macros expanded), with an optional IANA time zone. */
  | { kind: 'cron'; expression: string; timeZone?: string };

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTHS = 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec';
const DAYS = 'sun|mon|tue|wed|thu|fri|sat';

/** What each of the five fields may hold (names only in month and day-of-week). */
function fieldPart(names?: string): RegExp {
  const atom = names === undefined ? '\\d+' : `(?:\\d+|${names})`;
  return new RegExp(`^(?:\\*|\\?|${atom}(?:-${atom})?)(?:/\\d+)?$`, 'i');
}
const FIELD_PARTS = [fieldPart(), fieldPart(), fieldPart(), fieldPart(MONTHS), fieldPart(DAYS)];

/**
 * Parses a cron input's `spec`: five fields (minute hour day-of-month month day-of-week), a
 * macro (`@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`),
 * `@every <Go duration>`, each optionally prefixed by `TZ=<zone> ` or `CRON_TZ=<zone> `.
 * Returns the schedule, or robfig/cron's wording of the problem.
 */
export function parseCronSpec(spec: string): CronSchedule | { error: string } {
  let s = spec.trim();
  if (s === '') return { error: 'empty spec string' };
  let timeZone: string | undefined;
  const tz = /^(?:CRON_)?TZ=(\S*)\s+/.exec(s);
  if (tz !== null) {
    timeZone = tz[1] ?? '';
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
    } catch {
      return { error: `provided bad location ${timeZone}: unknown time zone ${timeZone}` };
    }
    s = s.slice(tz[0].length).trim();
  }
  if (s.startsWith('@')) {
    if (s.startsWith('@every ')) {
      const text = s.slice('@every '.length).trim();
      const d = parseDuration(text);
      if ('error' in d) return { error: `failed to parse duration ${s}: ${d.error}` };
      // robfig/cron truncates to whole seconds and never ticks faster than once a second.
      return { kind: 'every', everyMs: Math.max(1000, Math.floor(d.ms / 1000) * 1000) };
    }
    const macro = MACROS[s.toLowerCase()];
    if (macro === undefined) return { error: `unrecognized descriptor: ${s}` };
    return timeZone === undefined ? { kind: 'cron', expression: macro } : { kind: 'cron', expression: macro, timeZone };
  }
  const fields = s.split(/\s+/);
  if (fields.length !== 5) return { error: `expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]` };
  for (let i = 0; i < 5; i++) {
    const field = fields[i] ?? '';
    const re = FIELD_PARTS[i];
    for (const part of field.split(',')) {
      if (re !== undefined && !re.test(part)) return { error: `failed to parse int from ${part}: invalid syntax` };
    }
  }
  const expression = fields.join(' ');
  try {
    CronExpressionParser.parse(expression, timeZone === undefined ? {} : { tz: timeZone });
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  return timeZone === undefined ? { kind: 'cron', expression } : { kind: 'cron', expression, timeZone };
}
