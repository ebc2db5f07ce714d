/**
 * What Pachyderm's own clients need to find the daemon and the pipeline's token from inside user
 * code, with no arguments, as they do inside Pachyderm's workers (reference §2.2; checked against
 * python-pachyderm 7.6 and pachyderm-sdk 2.x):
 *
 * - `/pachctl/config.json`, a pachctl-shaped config whose active context holds only keys
 *   pachyderm-sdk's loader accepts: `pachd_address` as `grpc://host:port` (the daemon serves gRPC
 *   and HTTP on one port) and `session_token` (the pipeline's token, when there is one).
 *   python-pachyderm's `Client()` reads `PACH_CONFIG`, then this path; pachyderm-sdk's
 *   `Client.new_in_cluster()` reads this path; `sluice`/`pachctl` read `PACH_CONFIG`.
 * - `PACHD_PEER_SERVICE_HOST`/`PACHD_PEER_SERVICE_PORT` (and `PACHD_SERVICE_HOST`/`_PORT`), the
 *   Kubernetes service variables `new_in_cluster()` falls back to in both Python clients.
 * - `PACH_PYTHON_AUTH_TOKEN`: both Python clients take their token from it when none is given,
 *   so `pachyderm_sdk.Client()` and `python_pachyderm.Client.new_in_cluster()` carry the
 *   pipeline's token too.
 *
 * Pachyderm mounts the config only into spouts; Sluice gives it to transforms as well, so the same
 * user code works in both.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toGrpcAddress, type ConfigFile } from '../client/index.js';
import type { ReadOnlyBind } from './user-code-driver.js';

/** Where the config folder appears inside the sandbox, and the file in it. */
export const PACHCTL_CONFIG_DIR = '/pachctl';
export const PACHCTL_CONFIG_PATH = `${PACHCTL_CONFIG_DIR}/config.json`;

export interface DaemonCredentials {
  /** The daemon's address as the worker reaches it (`host:port` or a URL). */
  daemonAddress: string;
  /** The pipeline's token, if the worker has one. */
  token?: string;
}

/** The config file user code's clients read, with its active context named `context`. */
export function pachctlConfig(context: string, creds: DaemonCredentials): ConfigFile {
  return {
    v2: {
      active_context: context,
      contexts: {
        [context]: {
          pachd_address: toGrpcAddress(creds.daemonAddress),
          ...(creds.token !== undefined && creds.token !== '' ? { session_token: creds.token } : {}),
        },
      },
    },
  };
}

/**
 * Writes the config under `dir` (created) as `pachctl/config.json`, mode 0600 (the token is a
 * secret: only the worker's user, which user code runs as, may read it); returns the bind that
 * shows the folder at `/pachctl`.
 */
export async function writePachctlConfig(dir: string, context: string, creds: DaemonCredentials): Promise<{ bind: ReadOnlyBind; config: ConfigFile }> {
  const configDir = join(dir, 'pachctl');
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const config = pachctlConfig(context, creds);
  await writeFile(join(configDir, 'config.json'), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  return { bind: { source: configDir, target: PACHCTL_CONFIG_DIR }, config };
}

/** The variables Pachyderm's clients read when asked to connect "in cluster" (see the module comment). */
export function inClusterVariables(creds: DaemonCredentials): Record<string, string> {
  const url = new URL(toGrpcAddress(creds.daemonAddress).replace(/^grpcs?:/, 'http:'));
  // URL drops a scheme's default port; for http that is 80, never Sluice's, but be exact.
  const port = url.port !== '' ? url.port : '80';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const vars: Record<string, string> = {
    PACHD_PEER_SERVICE_HOST: host,
    PACHD_PEER_SERVICE_PORT: port,
    PACHD_SERVICE_HOST: host,
    PACHD_SERVICE_PORT: port,
  };
  if (creds.token !== undefined && creds.token !== '') vars.PACH_PYTHON_AUTH_TOKEN = creds.token;
  return vars;
}
