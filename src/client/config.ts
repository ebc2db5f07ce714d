/**
 * Finding the daemon the way pachctl does: `PACHD_ADDRESS` (host:port, optionally with a
 * scheme) wins; otherwise the active context of the config file named by `PACH_CONFIG`, or of
 * `~/.pachyderm/config.json`; otherwise 127.0.0.1:30650. The config file has pachctl's shape:
 *
 * ```json
 * { "v2": { "active_context": "local",
 *           "contexts": { "local": { "pachd_address": "grpc://127.0.0.1:30650", "session_token": "…" } } } }
 * ```
 *
 * `pachd_address` may be `grpc://host:port` (what pachctl, python-pachyderm and pachyderm-sdk
 * write and read; the daemon serves gRPC and HTTP on one port), `grpcs://`, `http(s)://` or bare
 * `host:port`: all name the same daemon.
 *
 * Inside a spout, the spout's repo and output branch come from the environment
 * (`PPS_PIPELINE_NAME`, `SLUICE_SPOUT_OUTPUT_BRANCH`), not from the config: pachyderm-sdk's
 * config loader refuses keys it does not know. Configs written by older Sluice workers kept them
 * in the context as `pipeline_name`/`output_branch`; those are still read.
 */
import { readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { SluiceError } from '../errors/index.js';

export const DEFAULT_PORT = 30650;
export const DEFAULT_ADDRESS = `127.0.0.1:${DEFAULT_PORT}`;

export interface ContextConfig {
  pachd_address?: string;
  session_token?: string;
  /** Legacy (older spout configs): the repo `put file` writes when none is named. See `spoutDefaults`. */
  pipeline_name?: string;
  /** Legacy (older spout configs): the branch `put file` writes when none is named. */
  output_branch?: string;
  [key: string]: unknown;
}

export interface ConfigFile {
  user_id?: string;
  v2?: { active_context?: string; contexts?: Record<string, ContextConfig>; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ResolvedConfig {
  /** http://host:port */
  baseUrl: string;
  token?: string;
  context?: ContextConfig;
  configPath: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PACH_CONFIG !== undefined && env.PACH_CONFIG !== '' ? env.PACH_CONFIG : join(homedir(), '.pachyderm', 'config.json');
}

export function readConfig(path: string): ConfigFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as ConfigFile;
  } catch (err) {
    throw new SluiceError('CLIENT_CONFIG_INVALID', `config file ${path} is not valid JSON: ${(err as Error).message}`, { details: { path } });
  }
}

/** Writes the config atomically (temp file, then rename), as pachctl does on `use-auth-token`. */
export function writeConfig(path: string, cfg: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

export function activeContext(cfg: ConfigFile | undefined): ContextConfig | undefined {
  const name = cfg?.v2?.active_context;
  if (name === undefined) return undefined;
  return cfg?.v2?.contexts?.[name];
}

/** Turns `grpc://h:p`, `http://h:p`, `h:p` or `h` into an http base URL. */
export function toBaseUrl(address: string): string {
  let a = address.trim();
  const m = /^([a-z0-9+]+):\/\//i.exec(a);
  let scheme = 'http';
  if (m !== null) {
    scheme = m[1]!.toLowerCase() === 'https' || m[1]!.toLowerCase() === 'grpcs' ? 'https' : 'http';
    a = a.slice(m[0].length);
  }
  a = a.replace(/\/+$/, '');
  if (a === '') throw new SluiceError('CLIENT_CONFIG_INVALID', `invalid daemon address ${JSON.stringify(address)}`);
  if (!/:\d+$/.test(a) && !a.endsWith(']')) a = `${a}:${DEFAULT_PORT}`;
  return `${scheme}://${a}`;
}

/**
 * The same daemon as a gRPC address, as Pachyderm's clients want it in `pachd_address`:
 * `http://h:p` → `grpc://h:p`, `https://h:p` → `grpcs://h:p`, `h:p` → `grpc://h:p`.
 */
export function toGrpcAddress(address: string): string {
  const url = new URL(toBaseUrl(address));
  return `${url.protocol === 'https:' ? 'grpcs' : 'grpc'}://${url.host}`;
}

/** The variable that tells `put file` inside a spout which branch is the spout's output. */
export const SPOUT_OUTPUT_BRANCH_ENV = 'SLUICE_SPOUT_OUTPUT_BRANCH';

export interface SpoutDefaults {
  /** The spout's name, which is its output repo. */
  pipeline: string;
  outputBranch: string;
}

/**
 * The repo and branch that `put file` writes when none is named: only inside a spout, whose
 * worker sets `PPS_PIPELINE_NAME` and `SLUICE_SPOUT_OUTPUT_BRANCH` (a transform sets only the
 * former, so it gets none). Falls back to the context keys older spout configs carried.
 */
export function spoutDefaults(env: NodeJS.ProcessEnv, ctx: ContextConfig | undefined): SpoutDefaults | undefined {
  const pipeline = env.PPS_PIPELINE_NAME;
  const branch = env[SPOUT_OUTPUT_BRANCH_ENV];
  if (pipeline !== undefined && pipeline !== '' && branch !== undefined && branch !== '') return { pipeline, outputBranch: branch };
  const legacyPipeline = typeof ctx?.pipeline_name === 'string' && ctx.pipeline_name !== '' ? ctx.pipeline_name : undefined;
  if (legacyPipeline === undefined) return undefined;
  const legacyBranch = typeof ctx?.output_branch === 'string' && ctx.output_branch !== '' ? ctx.output_branch : 'master';
  return { pipeline: legacyPipeline, outputBranch: legacyBranch };
}

export function resolveConfig(env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const path = configPath(env);
  const ctx = activeContext(readConfig(path));
  const address = env.PACHD_ADDRESS !== undefined && env.PACHD_ADDRESS !== '' ? env.PACHD_ADDRESS : ctx?.pachd_address ?? DEFAULT_ADDRESS;
  const out: ResolvedConfig = { baseUrl: toBaseUrl(address), configPath: path };
  const token = env.PACH_TOKEN !== undefined && env.PACH_TOKEN !== '' ? env.PACH_TOKEN : ctx?.session_token;
  if (token !== undefined && token !== '') out.token = token;
  if (ctx !== undefined) out.context = ctx;
  return out;
}
