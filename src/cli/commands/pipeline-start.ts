/**
 * `start pipeline <pipeline>`: restarts a stopped pipeline; jobs queued while it was stopped run.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { parsePipelineArg } from './pps-args.js';

export function registerPipelineStart(program: Command, ctx: CliContext): void {
  subcommand(program, ['start', 'pipeline'], 'Restart a stopped pipeline.')
    .argument('<pipeline>', 'the pipeline')
    .action(async (arg: string) => {
      await ctx.client().startPipeline(parsePipelineArg(arg));
    });
}
