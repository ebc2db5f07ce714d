/**
 * `list datum <pipeline>@<job-id> [--raw]`: ID FILES STATUS TIME, in datum order. FILES lists the
 * datum's inputs as `repo@commit:path`, joined with `, `; TIME is `-` (Sluice records no
 * per-datum timings).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { rawLine, TabWriter } from '../output.js';
import { DATUM_HEADER, datumRow } from '../tables.js';
import { resolveJobArg } from './pps-args.js';

export function registerDatumList(program: Command, ctx: CliContext): void {
  subcommand(program, ['list', 'datum'], 'Return the datums of a job.')
    .argument('<pipeline@job-id>', 'the job')
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const { pipeline, id } = await resolveJobArg(ctx, arg);
      const datums = await ctx.client().listDatums(pipeline, id);
      if (opts.raw === true) {
        for (const d of datums) ctx.out(rawLine(d));
        return;
      }
      const w = new TabWriter((s) => ctx.out(s), DATUM_HEADER);
      for (const d of datums) w.row(datumRow(d));
      w.flush();
    });
}
