/**
 * git as the benchmarks run it: an isolated environment (its own HOME, no system config, a fixed
 * identity) and no background `gc --auto` or maintenance, which git would otherwise detach after a
 * commit of many loose objects and which would then run during the next measurement.
 */

/** The environment for git commands; `GIT_DIR`/`GIT_WORK_TREE` when the repo lives elsewhere. */
export function gitEnv(home: string, where: { gitDir?: string; workTree?: string } = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...(where.gitDir !== undefined ? { GIT_DIR: where.gitDir } : {}),
    ...(where.workTree !== undefined ? { GIT_WORK_TREE: where.workTree } : {}),
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'gc.auto',
    GIT_CONFIG_VALUE_0: '0',
    GIT_CONFIG_KEY_1: 'maintenance.auto',
    GIT_CONFIG_VALUE_1: 'false',
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@example.com',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@example.com',
  };
}

/** `-c` flags that make git flush every write, batching the object fsyncs (git >= 2.37). */
export const GIT_FSYNC_ALL = ['-c', 'core.fsync=all', '-c', 'core.fsyncMethod=batch'] as const;
