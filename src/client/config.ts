/**
 * Finding the daemon the way pachctl does: `PACHD_ADDRESS` (host:port, optionally with a
 * scheme) wins; otherwise the active context of the config file named by `PACH_CONFIG`, or of
 * `~/.pachyderm/config.json`; otherwise 127.0.0.1:30650. The config file has pachctl's shape:
 *
 * ```json
 * { "v2": { "active_context": "local",
 *           "contexts": { "local": { "pachd_address": "grpc://127.0.0.1:30650", "session_token": "…" } } } }
 * ```
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
  /** Spout/pipeline defaults: the repo and branch `put file` writes when none is named. */
  pipeline_name?: string;
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
