/**
 * `wait job <pipeline>@<job-id> [--raw] [--no-progress]`: blocks until the job has ended, prints
 * its inspect block, and exits 1 (`error: job … failure: <reason>`) when it failed or was
 * killed. Ctrl-C stops waiting (exit 130). While it waits on a terminal, stderr shows a spinner,
 * the job's state and datum counts (read once a second) and the time elapsed; the line is erased
 * before the block is printed. Nothing is drawn when stderr is not a terminal.
 */
import type { Command } from 'commander';
import { InterruptedError, type CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';
import { rawPretty } from '../output.js';
import { jobDetail } from '../tables.js';
import { isTerminal, Spinner } from '../progress.js';
import type { JobInfo } from '../../client/index.js';
import { resolveJobArg } from './pps-args.js';

export function registerJobWait(program: Command, ctx: CliContext): void {
  subcommand(program, ['wait', 'job'], 'Wait for a job to finish, then return info about it.')
    .argument('<pipeline@job-id>', 'the job')
    .option('--raw', 'print raw JSON')
    .option('--no-progress', 'draw no progress line (none is drawn anyway when stderr is not a terminal)')
    .action(async (arg: string, opts: { raw?: boolean; progress: boolean }) => {
      const { pipeline, id } = await resolveJobArg(ctx, arg);
      const { signal, release } = ctx.interruptible();
      const stopProgress = opts.progress && isTerminal(ctx.io.stderr) ? jobProgress(ctx, pipeline, id) : undefined;
      try {
        const info = await ctx.client().waitJob(pipeline, id, { signal }).finally(() => stopProgress?.());
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

/** `<state>, 3/10 datums (1 skipped, 1 failed)`: what the progress line says of a job. */
export function jobStatus(j: JobInfo): string {
  const d = j.datums;
  const done = d.processed + d.skipped + d.failed + d.recovered;
  const extra = [d.skipped > 0 ? `${d.skipped} skipped` : '', d.failed > 0 ? `${d.failed} failed` : '', d.recovered > 0 ? `${d.recovered} recovered` : ''].filter((x) => x !== '');
  return `${j.state}, ${done}/${d.total} datums${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
}

/** Draws the spinner and refreshes the job's counts once a second; returns the stop function. */
function jobProgress(ctx: CliContext, pipeline: string, id: string): () => void {
  const label = `waiting for job ${pipeline}@${id}`;
  const spinner = new Spinner(ctx.io.stderr, label).start();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = (): void => {
    ctx.client().inspectJob(pipeline, id).then((j) => {
      if (!stopped) spinner.update(`${label}: ${jobStatus(j)}`);
    }, () => undefined).finally(() => {
      if (!stopped) timer = setTimeout(poll, 1_000).unref();
    });
  };
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
    spinner.stop();
  };
}
