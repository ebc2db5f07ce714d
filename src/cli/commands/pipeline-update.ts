/**
 * `update pipeline [-f FILE|-] [--reprocess]`: like `create pipeline`, for pipelines that exist
 * (a new version each). Without `--reprocess`, datums already processed by an earlier version are
 * skipped; with it, everything runs again.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { sendSpecs } from './pipeline-create.js';

export function registerPipelineUpdate(program: Command, ctx: CliContext): void {
  subcommand(program, ['update', 'pipeline'], 'Update an existing pipeline from a spec file (JSON or YAML).')
    .option('-f, --file <file>', 'the spec file, or - for stdin', '-')
    .option('--reprocess', 'reprocess datums that were already processed by previous versions of the pipeline')
    .action(async (opts: { file: string; reprocess?: boolean }) => {
      await sendSpecs(ctx, opts.file, { update: true, reprocess: opts.reprocess === true });
    });
}
