/**
 * The environment user code runs with, built from scratch (the worker's own environment is
 * not inherited wholesale: it is the daemon's, and may hold anything).
 *
 * Layers, later ones winning, as in Pachyderm where the worker appends its variables after the
 * container's environment (which holds `transform.env`):
 * 1. a few variables taken from the worker: `PATH` (so programs resolve as on the host), `HOME`,
 *    locale and time zone, and `PACHD_ADDRESS`/`PACH_TOKEN` so `pachctl` or an SDK inside user
 *    code reaches the daemon as the pipeline (the token only grants what the pipeline may do);
 * 2. `transform.env`;
 * 3. Pachyderm's variables (master `src/server/worker/driver/driver.go: UserCodeEnv`, names from
 *    `src/client/client.go` and `worker_rc.go`):
 *    - `<input name>` = `/pfs/<input name><datum path>` (filepath.Join of the input dir, the
 *      input's name and the file's path) and `<input name>_COMMIT` = the input commit id;
 *      several inputs of one name (a group) set these in datum order, so the last one wins, as
 *      in Pachyderm where the later duplicate of a variable wins;
 *    - `PACH_DATUM_<input name>_JOIN_ON` / `PACH_DATUM_<input name>_GROUP_BY`: the key the
 *      input's glob captures gave (`join_on` / `group_by` filled in), when it is not empty;
 *    - `PACH_DATUM_ID`, `PACH_JOB_ID`;
 *    - `PACH_OUTPUT_COMMIT_ID`: the job id, since a job's output commit shares the commit-set id
 *      of the input commit that made it (Pachyderm 2's global ids);
 *    - `PPS_PIPELINE_NAME`;
 *    and, when the worker passes them (`PachydermClientEnv`), what Pachyderm's own clients read to
 *    find the daemon and the token: `PACH_CONFIG=/pachctl/config.json` and the in-cluster
 *    variables (pachyderm-env.ts).
 */
import { posix } from 'node:path';
import type { DatumTask } from '../api/pps-types.js';
import type { ReadOnlyBind } from './user-code-driver.js';

/** The config bind and variables that let Pachyderm's clients in user code reach the daemon. */
export interface PachydermClientEnv {
  binds: ReadOnlyBind[];
  /** Variables set over everything else (`PACH_CONFIG`, `PACHD_PEER_SERVICE_HOST`, …). */
  vars: Record<string, string>;
}

/** Worker variables user code keeps (layer 1). */
export const INHERITED_VARIABLES = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'PACHD_ADDRESS', 'PACH_TOKEN'] as const;

const DEFAULTS: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/',
};

/** The path an input's datum appears at inside the sandbox (`/pfs/images/a.png`). */
export function inputMountPath(name: string, path: string): string {
  // Go's filepath.Join cleans its result: no trailing slash for a datum that is a whole folder.
  const joined = posix.join('/pfs', name, path);
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

export function userCodeEnv(
  task: DatumTask,
  worker: Readonly<Record<string, string | undefined>> = process.env,
  clients?: PachydermClientEnv,
): Record<string, string> {
  const env: Record<string, string> = { ...DEFAULTS };
  for (const name of INHERITED_VARIABLES) {
    const v = worker[name];
    if (v !== undefined && v !== '') env[name] = v;
  }
  Object.assign(env, task.transform.env);
  for (const input of task.inputs) {
    env[input.name] = inputMountPath(input.name, input.path);
    env[`${input.name}_COMMIT`] = input.commit;
    if (input.joinOn !== undefined && input.joinOn !== '') env[`PACH_DATUM_${input.name}_JOIN_ON`] = input.joinOn;
    if (input.groupBy !== undefined && input.groupBy !== '') env[`PACH_DATUM_${input.name}_GROUP_BY`] = input.groupBy;
  }
  env.PACH_DATUM_ID = task.datum;
  env.PACH_JOB_ID = task.job;
  env.PACH_OUTPUT_COMMIT_ID = task.job;
  env.PPS_PIPELINE_NAME = task.pipeline;
  if (clients !== undefined) Object.assign(env, clients.vars);
  return env;
}
