/**
 * `stop pipeline <pipeline>`: the pipeline is paused, its workers stop, and new input commits
 * queue jobs that run once it is started again.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { parsePipelineArg } from './pps-args.js';

export function registerPipelineStop(program: Command, ctx: CliContext): void {
  subcommand(program, ['stop', 'pipeline'], 'Stop a running pipeline.')
    .argument('<pipeline>', 'the pipeline')
    .action(async (arg: string) => {
      await ctx.client().stopPipeline(parsePipelineArg(arg));
    });
}
