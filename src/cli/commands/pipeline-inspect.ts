/**
 * `inspect pipeline <pipeline> [--raw]`: Name, Description, Created, State, Reason, Workers
 * Available (running/wanted), Stopped, Parallelism Spec, Input (indented JSON), Output Branch,
 * Transform (indented JSON), Job Counts, Spec Commit, Version.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { rawPretty } from '../output.js';
import { pipelineDetail } from '../tables.js';
import { parsePipelineArg } from './pps-args.js';

export function registerPipelineInspect(program: Command, ctx: CliContext): void {
  subcommand(program, ['inspect', 'pipeline'], 'Return info about a pipeline.')
    .argument('<pipeline>', 'the pipeline')
    .option('--raw', 'print raw JSON')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const info = await ctx.client().inspectPipeline(parsePipelineArg(arg));
      ctx.out(opts.raw === true ? rawPretty(info) : pipelineDetail(info, ctx.now()));
    });
}
