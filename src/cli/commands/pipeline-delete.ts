/**
 * `delete pipeline (<pipeline> | --all) [--force/-f] [--keep-repo]`. Deletes the pipeline, its
 * jobs, logs and spec history, and its output repo unless `--keep-repo`. Without `--force` the
 * daemon refuses a pipeline whose output other pipelines read. `--all` deletes every pipeline,
 * downstream ones first.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';
import { parsePipelineArg } from './pps-args.js';

interface Options {
  all?: boolean;
  force?: boolean;
  keepRepo?: boolean;
}

export function registerPipelineDelete(program: Command, ctx: CliContext): void {
  subcommand(program, ['delete', 'pipeline'], 'Delete a pipeline.')
    .argument('[pipeline]', 'the pipeline')
    .option('--all', 'delete all pipelines')
    .option('-f, --force', 'delete the pipeline even if other pipelines read its output')
    .option('--keep-repo', 'keep the output repo (with its data and history)')
    .action(async (arg: string | undefined, opts: Options) => {
      if (arg !== undefined && opts.all === true) throw new SluiceError('INVALID_ARGUMENT', 'cannot use the --all flag with an argument');
      if (arg === undefined && opts.all !== true) throw new SluiceError('INVALID_ARGUMENT', 'either a pipeline name or the --all flag needs to be provided');
      const keepRepo = opts.keepRepo === true;
      if (arg === undefined) await ctx.client().deleteAllPipelines({ keepRepo });
      else await ctx.client().deletePipeline(parsePipelineArg(arg), { keepRepo, force: opts.force === true });
    });
}
