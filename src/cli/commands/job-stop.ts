/**
 * `stop job <pipeline>@<job-id>`: kills a queued or running job (state `killed`); the pipeline
 * goes on with the next one.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { resolveJobArg } from './pps-args.js';

export function registerJobStop(program: Command, ctx: CliContext): void {
  subcommand(program, ['stop', 'job'], 'Stop a job.')
    .argument('<pipeline@job-id>', 'the job')
    .action(async (arg: string) => {
      const { pipeline, id } = await resolveJobArg(ctx, arg);
      await ctx.client().stopJob(pipeline, id);
    });
}
