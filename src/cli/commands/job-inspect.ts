/**
 * `inspect job <pipeline>@<job-id> [--raw]`: ID, Pipeline, Pipeline Version, Created, Started,
 * Duration, State, Reason, Progress, Datums, Data Downloaded/Uploaded, Restarts, Input Commits,
 * Output Commit. A bare job id works when only one pipeline has a job with it.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { rawPretty } from '../output.js';
import { jobDetail } from '../tables.js';
import { resolveJobArg } from './pps-args.js';

export function registerJobInspect(program: Command, ctx: CliContext): void {
  subcommand(program, ['inspect', 'job'], 'Return info about a job.')
    .argument('<pipeline@job-id>', 'the job')
    .option('--raw', 'print raw JSON')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const { pipeline, id } = await resolveJobArg(ctx, arg);
      const info = await ctx.client().inspectJob(pipeline, id);
      ctx.out(opts.raw === true ? rawPretty(info) : jobDetail(info, ctx.now()));
    });
}
