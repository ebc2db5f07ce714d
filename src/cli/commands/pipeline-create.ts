/**
 * `create pipeline [-f FILE|-]` (default stdin; "Reading from stdin." on stderr when that is a
 * terminal, as pachctl prints it). The file's text and its name go to the daemon as they are: it
 * parses JSON or YAML, one or several specs, so syntax errors come back as
 * `malformed pipeline spec: <file>:<line>:<col>: …`. Each warning (unknown fields, …) is printed on
 * stderr as `warning: …`. Prints nothing else on success, like pachctl.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { SluiceError } from '../../client/index.js';
import { readSpecSource } from './pps-args.js';

/** Sends a spec file to the daemon (shared with `update pipeline`). */
export async function sendSpecs(ctx: CliContext, file: string, opts: { update?: boolean; reprocess?: boolean } = {}): Promise<void> {
  const { text, name } = await readSpecSource(ctx, file);
  if (text.trim() === '') {
    throw new SluiceError('INVALID_ARGUMENT', name === 'stdin' ? 'no pipeline spec given: stdin is empty (pass the spec with -f FILE, or pipe it in)' : `no pipeline spec given: ${name} is empty`);
  }
  const res = await ctx.client().createPipeline(text, {
    file: name,
    ...(opts.update === true ? { update: true } : {}),
    ...(opts.reprocess === true ? { reprocess: true } : {}),
  });
  for (const w of res.warnings) ctx.err(`warning: ${w}\n`);
}

export function registerPipelineCreate(program: Command, ctx: CliContext): void {
  subcommand(program, ['create', 'pipeline'], 'Create a new pipeline from a spec file (JSON or YAML).')
    .option('-f, --file <file>', 'the spec file, or - for stdin', '-')
    .action(async (opts: { file: string }) => {
      await sendSpecs(ctx, opts.file);
    });
}
