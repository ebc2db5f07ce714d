/**
 * `logs [-p/--pipeline P] [-j/--job J | P@J] [--datum D] [-f/--follow] [--raw]`: the log lines of
 * user code (stdout and stderr) and of the system (the executor's notices, retries, failures),
 * oldest first, one message per line; `--raw` prints each LogLine as JSON on its own line. With
 * `-f`, new lines are printed as they come until Ctrl-C, which ends it normally (exit 0).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';
import { rawLine } from '../output.js';
import { logText } from '../tables.js';
import { parseJobArg, parsePipelineArg } from './pps-args.js';

interface Options {
  pipeline?: string;
  job?: string;
  datum?: string;
  follow?: boolean;
  raw?: boolean;
}

/** The pipeline and job to read, from `-p` and `-j` (`J` or `P@J`). */
function target(opts: Options): { pipeline?: string; job?: string } {
  let pipeline = opts.pipeline === undefined ? undefined : parsePipelineArg(opts.pipeline);
  let job: string | undefined;
  if (opts.job !== undefined) {
    if (opts.job.includes('@')) {
      const j = parseJobArg(opts.job);
      if (pipeline !== undefined && pipeline !== j.pipeline) {
        throw new SluiceError('INVALID_ARGUMENT', `--pipeline ${pipeline} and --job ${opts.job} name different pipelines`);
      }
      pipeline = j.pipeline;
      job = j.id;
    } else if (opts.job === '') {
      throw new SluiceError('INVALID_ARGUMENT', 'invalid job "": expected <pipeline>@<job-id> or a job id');
    } else job = opts.job;
  }
  if (pipeline === undefined && job === undefined) throw new SluiceError('INVALID_ARGUMENT', 'either --pipeline or --job needs to be provided');
  return { ...(pipeline !== undefined ? { pipeline } : {}), ...(job !== undefined ? { job } : {}) };
}

export function registerLogs(program: Command, ctx: CliContext): void {
  subcommand(program, ['logs'], 'Return logs from a pipeline or a job.')
    .option('-p, --pipeline <pipeline>', 'only the logs of this pipeline')
    .option('-j, --job <job>', 'only the logs of this job (<pipeline>@<job-id>, or a job id)')
    .option('--datum <datum>', 'only the logs of this datum')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--raw', 'print each log line as JSON')
    .action(async (opts: Options) => {
      const which = target(opts);
      const follow = opts.follow === true;
      const { signal, release } = follow ? ctx.interruptible() : { signal: undefined, release: () => undefined };
      try {
        const lines = ctx.client().getLogs({
          ...which,
          ...(opts.datum === undefined ? {} : { datum: opts.datum }),
          ...(follow ? { follow: true } : {}),
          ...(signal === undefined ? {} : { signal }),
        });
        for await (const l of lines) ctx.out(opts.raw === true ? rawLine(l) : logText(l));
      } catch (err) {
        // Ctrl-C ends `logs -f` normally.
        if (signal?.aborted !== true) throw err;
      } finally {
        release();
      }
    });
}
