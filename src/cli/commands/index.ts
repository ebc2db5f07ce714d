/**
 * Registers every command on the program, in the order `--help` lists them.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerVersion } from './version.js';
import { registerDaemon } from './daemon.js';
import { registerWorker } from './worker.js';
import { registerRepoCreate } from './repo-create.js';
import { registerRepoUpdate } from './repo-update.js';
import { registerRepoList } from './repo-list.js';
import { registerRepoInspect } from './repo-inspect.js';
import { registerRepoDelete } from './repo-delete.js';
import { registerBranchCreate } from './branch-create.js';
import { registerBranchList } from './branch-list.js';
import { registerBranchInspect } from './branch-inspect.js';
import { registerBranchDelete } from './branch-delete.js';
import { registerCommitStart } from './commit-start.js';
import { registerCommitFinish } from './commit-finish.js';
import { registerCommitInspect } from './commit-inspect.js';
import { registerCommitList } from './commit-list.js';
import { registerCommitWait } from './commit-wait.js';
import { registerCommitSubscribe } from './commit-subscribe.js';
import { registerCommitDelete } from './commit-delete.js';
import { registerCommitSquash } from './commit-squash.js';
import { registerFilePut } from './file-put.js';
import { registerFileGet } from './file-get.js';
import { registerFileList } from './file-list.js';
import { registerFileGlob } from './file-glob.js';
import { registerFileDiff } from './file-diff.js';
import { registerFileDelete } from './file-delete.js';
import { registerFileCopy } from './file-copy.js';
import { registerFileInspect } from './file-inspect.js';
import { registerFsck } from './fsck.js';
import { registerGc } from './gc.js';
import { registerPipelineCreate } from './pipeline-create.js';
import { registerPipelineUpdate } from './pipeline-update.js';
import { registerPipelineList } from './pipeline-list.js';
import { registerPipelineInspect } from './pipeline-inspect.js';
import { registerPipelineDelete } from './pipeline-delete.js';
import { registerPipelineStop } from './pipeline-stop.js';
import { registerPipelineStart } from './pipeline-start.js';
import { registerJobList } from './job-list.js';
import { registerJobInspect } from './job-inspect.js';
import { registerJobWait } from './job-wait.js';
import { registerJobStop } from './job-stop.js';
import { registerDatumList } from './datum-list.js';
import { registerLogs } from './logs.js';
import { registerDeleteAll } from './delete-all.js';
import { registerConfigGet } from './config-get.js';
import { registerConfigSet } from './config-set.js';
import { registerConfigUpdate } from './config-update.js';
import { registerConfigList } from './config-list.js';
// ---- auth ----
import { registerAuthActivate } from './auth-activate.js';
import { registerAuthDeactivate } from './auth-deactivate.js';
import { registerAuthUseAuthToken } from './auth-use-auth-token.js';
import { registerAuthWhoami } from './auth-whoami.js';
import { registerAuthGetRobotToken } from './auth-get-robot-token.js';
import { registerAuthSet } from './auth-set.js';
import { registerAuthGet } from './auth-get.js';
import { registerAuthRevoke } from './auth-revoke.js';
// ---- end auth ----

const ALL = [
  registerVersion,
  registerDaemon,
  registerWorker,
  registerRepoCreate,
  registerRepoUpdate,
  registerRepoList,
  registerRepoInspect,
  registerRepoDelete,
  registerBranchCreate,
  registerBranchList,
  registerBranchInspect,
  registerBranchDelete,
  registerCommitStart,
  registerCommitFinish,
  registerCommitInspect,
  registerCommitList,
  registerCommitWait,
  registerCommitSubscribe,
  registerCommitDelete,
  registerCommitSquash,
  registerFilePut,
  registerFileGet,
  registerFileList,
  registerFileGlob,
  registerFileDiff,
  registerFileDelete,
  registerFileCopy,
  registerFileInspect,
  registerFsck,
  registerGc,
  registerPipelineCreate,
  registerPipelineUpdate,
  registerPipelineList,
  registerPipelineInspect,
  registerPipelineDelete,
  registerPipelineStop,
  registerPipelineStart,
  registerJobList,
  registerJobInspect,
  registerJobWait,
  registerJobStop,
  registerDatumList,
  registerLogs,
  registerDeleteAll,
  registerConfigGet,
  registerConfigSet,
  registerConfigUpdate,
  registerConfigList,
  // ---- auth ----
  registerAuthActivate,
  registerAuthDeactivate,
  registerAuthUseAuthToken,
  registerAuthWhoami,
  registerAuthGetRobotToken,
  registerAuthSet,
  registerAuthGet,
  registerAuthRevoke,
  // ---- end auth ----
] as const;

export function registerCommands(program: Command, ctx: CliContext): void {
  for (const register of ALL) register(program, ctx);
}
