/**
 * `list job [<job-id>] [-p/--pipeline P] [--raw]`: PIPELINE ID STARTED DURATION RESTART PROGRESS
 * DL UL STATE, newest first. PROGRESS is `processed + skipped / total`; DURATION is `-` until the
 * job has finished; a failed job's STATE carries the start of its reason (`failure: datum …...`).
 * A job id lists that commit set's jobs in every pipeline. pachctl 2.x lists job *sets* when
 * given neither; Sluice always lists jobs (README, semantic decisions).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { rawLine, TabWriter } from '../output.js';
import { JOB_HEADER, jobRow } from '../tables.js';
import { parsePipelineArg } from './pps-args.js';

export function registerJobList(program: Command, ctx: CliContext): void {
  subcommand(program, ['list', 'job'], 'Return info about jobs.')
    .argument('[job-id]', 'only the jobs with this id (one commit set)')
    .option('-p, --pipeline <pipeline>', 'only the jobs of this pipeline')
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (id: string | undefined, opts: { pipeline?: string; raw?: boolean }) => {
      const pipeline = opts.pipeline === undefined ? undefined : parsePipelineArg(opts.pipeline);
      const all = await ctx.client().listJobs(pipeline === undefined ? {} : { pipeline });
      const jobs = id === undefined ? all : all.filter((j) => j.id === id);
      if (opts.raw === true) {
        for (const j of jobs) ctx.out(rawLine(j));
        return;
      }
      const now = ctx.now();
      const w = new TabWriter((s) => ctx.out(s), JOB_HEADER);
      for (const j of jobs) w.row(jobRow(j, now));
      w.flush();
    });
}
