/**
 * `list datum <pipeline>@<job-id> [--raw]`: ID FILES STATUS TIME, in datum order. FILES lists the
 * datum's inputs as `repo@commit:path`, joined with `, `; TIME is `-` (Sluice records no
 * per-datum timings).
 *
 * `list datum -f <spec>` (Pachyderm's dry run, which its join and group docs use): the datums the
 * spec's input would have over the inputs' current heads; the pipeline need not exist, nothing is
 * created, and STATUS is `-`.
 */
import type { Command } from 'commander';
import { SluiceError } from '../../errors/index.js';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { rawLine, TabWriter } from '../output.js';
import { DATUM_HEADER, datumRow } from '../tables.js';
import { readSpecSource, resolveJobArg } from './pps-args.js';

export function registerDatumList(program: Command, ctx: CliContext): void {
  subcommand(program, ['list', 'datum'], 'Return the datums of a job, or of a pipeline spec (-f) without creating it.')
    .argument('[pipeline@job-id]', 'the job')
    .option('-f, --file <file>', 'a pipeline spec (or - for stdin) whose datums to list; the pipeline need not exist')
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (arg: string | undefined, opts: { raw?: boolean; file?: string }) => {
      if (opts.file !== undefined && arg !== undefined) throw new SluiceError('INVALID_ARGUMENT', "can't specify both a job and a pipeline spec");
      let datums;
      if (opts.file !== undefined) {
        const { text, name } = await readSpecSource(ctx, opts.file);
        datums = await ctx.client().previewDatums(text, { file: name });
      } else if (arg !== undefined) {
        const { pipeline, id } = await resolveJobArg(ctx, arg);
        datums = await ctx.client().listDatums(pipeline, id);
      } else {
        throw new SluiceError('INVALID_ARGUMENT', 'must specify either a job or a pipeline spec (-f)');
      }
      if (opts.raw === true) {
        for (const d of datums) ctx.out(rawLine(d));
        return;
      }
      const w = new TabWriter((s) => ctx.out(s), DATUM_HEADER);
      for (const d of datums) w.row(datumRow(d));
      w.flush();
    });
}
