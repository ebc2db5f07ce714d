/**
 * `wait job <pipeline>@<job-id> [--raw]`: blocks until the job has ended, prints its inspect
 * block, and exits 1 (`error: job … failure: <reason>`) when it failed or was killed. Ctrl-C
 * stops waiting (exit 130).
 */
import type { Command } from 'commander';
import { InterruptedError, type CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';
import { rawPretty } from '../output.js';
import { jobDetail } from '../tables.js';
import { resolveJobArg } from './pps-args.js';

export function registerJobWait(program: Command, ctx: CliContext): void {
  subcommand(program, ['wait', 'job'], 'Wait for a job to finish, then return info about it.')
    .argument('<pipeline@job-id>', 'the job')
    .option('--raw', 'print raw JSON')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const { pipeline, id } = await resolveJobArg(ctx, arg);
      const { signal, release } = ctx.interruptible();
      try {
        const info = await ctx.client().waitJob(pipeline, id, { signal });
        ctx.out(opts.raw === true ? rawPretty(info) : jobDetail(info, ctx.now()));
        if (info.state === 'failure' || info.state === 'killed') {
          // Exit 1, as any job that did not succeed (the `internal` category's code).
          throw new SluiceError('INTERNAL', `job ${pipeline}@${id} ${info.state}${info.reason === '' ? '' : `: ${info.reason}`}`, { details: { pipeline, job: id, state: info.state } });
        }
      } catch (err) {
        if (signal.aborted) throw new InterruptedError();
        throw err;
      } finally {
        release();
      }
    });
}
