/**
 * What a spout's user code finds without any set-up (spouts 2.0; reference §1.8 and §2.2):
 *
 * - the CLI on its `PATH` as `pachctl` and `sluice`: two shell shims in a host folder bound
 *   read-only at `/pach-bin` (Pachyderm's own folder name), put FIRST on `PATH` so a host
 *   `pachctl` cannot shadow them. Each is `exec <node> <package>/bin/sluice.js "$@"`; both paths
 *   are on the host's read-only root, which the sandbox shows as it is;
 * - `PACH_CONFIG=/pachctl/config.json` (Pachyderm mounts the same file at the same path): a
 *   pachctl-shaped config whose active context `spout` holds `pachd_address` (`grpc://host:port`
 *   of the daemon this worker talks to) and `session_token` (the pipeline's token, when there is
 *   one), nothing else: pachyderm-sdk refuses unknown keys (pachyderm-env.ts). The host file
 *   lives in the worker's scratch folder, mode 0600, bound read-only (the scratch folder sits in
 *   the daemon's data folder, which user code otherwise cannot see);
 * - the variables Pachyderm's Python clients read in a cluster (`PACHD_PEER_SERVICE_HOST`/`PORT`,
 *   `PACH_PYTHON_AUTH_TOKEN`; pachyderm-env.ts);
 * - Pachyderm's variables: `PPS_PIPELINE_NAME`, `PPS_SPEC_COMMIT` (the spec commit id) and
 *   `PACH_JOB_ID`. A 2.x spout has no job; 1.x set the literal `spout`. Sluice sets the spec
 *   commit id, the id its transform pipelines give the job they run at creation, so the value
 *   names something that exists and changes on `update pipeline`;
 * - `SLUICE_SPOUT_OUTPUT_BRANCH`: with `PPS_PIPELINE_NAME`, what lets `put file` with no repo or
 *   branch write the spout's own output (`spoutDefaults` in client/config.ts).
 *
 * Layers, later ones winning (as for transforms, user-code-env.ts): the worker variables user
 * code keeps (`PATH`, `HOME`, locale, `PACHD_ADDRESS`, `PACH_TOKEN`), then `transform.env`, then
 * the variables above.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SPOUT_OUTPUT_BRANCH_ENV, type ConfigFile } from '../../client/index.js';
import { INHERITED_VARIABLES } from '../user-code-env.js';
import type { ReadOnlyBind } from '../user-code-driver.js';
import { inClusterVariables, pachctlConfig, PACHCTL_CONFIG_DIR, PACHCTL_CONFIG_PATH, writePachctlConfig } from '../pachyderm-env.js';

/** Where the config folder and the CLI folder appear inside the sandbox. */
export const SPOUT_CONFIG_DIR = PACHCTL_CONFIG_DIR;
export const SPOUT_CONFIG_PATH = PACHCTL_CONFIG_PATH;
export const SPOUT_BIN_DIR = '/pach-bin';
/** The active context's name in the spout's config. */
export const SPOUT_CONTEXT = 'spout';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface SpoutEnvironmentOptions {
  /** Host folder (created) that holds `pachctl/config.json` and `pach-bin/`. */
  dir: string;
  /** The daemon's address as the worker reaches it (`host:port` or a URL). */
  daemonAddress: string;
  /** The pipeline's token, if the worker has one. */
  token?: string;
  /** The node binary the shims run (default: this process's). */
  nodePath: string;
  /** The CLI entry point (`<package>/bin/sluice.js`). */
  cliPath: string;
}

export interface SpoutEnvironment {
  /** The config and CLI folders, for `RunRequest.readOnlyBinds`. */
  binds: ReadOnlyBind[];
  /** The config as written (tests and logs; the token is in it). */
  config: ConfigFile;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The config file a spout's CLI and SDKs read. */
export function spoutConfig(opts: Pick<SpoutEnvironmentOptions, 'daemonAddress' | 'token'>): ConfigFile {
  return pachctlConfig(SPOUT_CONTEXT, { daemonAddress: opts.daemonAddress, ...(opts.token !== undefined ? { token: opts.token } : {}) });
}

/** Writes the config and the CLI shims under `opts.dir`; returns the binds that show them. */
export async function prepareSpoutEnvironment(opts: SpoutEnvironmentOptions): Promise<SpoutEnvironment> {
  const binDir = join(opts.dir, 'pach-bin');
  await mkdir(binDir, { recursive: true });
  const { bind, config } = await writePachctlConfig(opts.dir, SPOUT_CONTEXT, { daemonAddress: opts.daemonAddress, ...(opts.token !== undefined ? { token: opts.token } : {}) });
  for (const name of ['pachctl', 'sluice']) {
    // SLUICE_INVOKED_AS: help and errors say `pachctl`, not the script's name.
    const shim = `#!/bin/sh\nSLUICE_INVOKED_AS=${name} exec ${shellQuote(opts.nodePath)} ${shellQuote(opts.cliPath)} "$@"\n`;
    const path = join(binDir, name);
    await writeFile(path, shim);
    await chmod(path, 0o755);
  }
  return { binds: [bind, { source: binDir, target: SPOUT_BIN_DIR }], config };
}

export interface SpoutUserCodeEnvOptions {
  pipeline: string;
  specCommit: string;
  outputBranch: string;
  /** The daemon's address as the worker reaches it (`host:port` or a URL). */
  daemonAddress: string;
  /** The pipeline's token, if the worker has one. */
  token?: string;
  transformEnv: Readonly<Record<string, string>>;
  /** The worker's environment (default `process.env`). */
  workerEnv?: Readonly<Record<string, string | undefined>>;
}

/** The complete environment of a spout's user code. */
export function spoutUserCodeEnv(opts: SpoutUserCodeEnvOptions): Record<string, string> {
  const worker = opts.workerEnv ?? process.env;
  const env: Record<string, string> = { PATH: DEFAULT_PATH, HOME: '/' };
  for (const name of INHERITED_VARIABLES) {
    const v = worker[name];
    if (v !== undefined && v !== '') env[name] = v;
  }
  Object.assign(env, opts.transformEnv);
  const path = env.PATH ?? DEFAULT_PATH;
  env.PATH = path === '' ? SPOUT_BIN_DIR : `${SPOUT_BIN_DIR}:${path}`;
  Object.assign(env, inClusterVariables({ daemonAddress: opts.daemonAddress, ...(opts.token !== undefined ? { token: opts.token } : {}) }));
  env.PACH_CONFIG = SPOUT_CONFIG_PATH;
  env.PPS_PIPELINE_NAME = opts.pipeline;
  env[SPOUT_OUTPUT_BRANCH_ENV] = opts.outputBranch;
  env.PPS_SPEC_COMMIT = opts.specCommit;
  env.PACH_JOB_ID = opts.specCommit;
  return env;
}
