/**
 * `list pipeline [<pipeline>] [--spec/-s] [--history N|all] [--raw]`: NAME VERSION INPUT CREATED
 * STATE / LAST JOB DESCRIPTION. `--history N` adds up to N earlier versions of each pipeline
 * (newest first), `all` every one. `--spec` prints each spec as indented JSON (zero-valued
 * fields left out, as pachctl prints protobuf), ready for `create pipeline`; `--raw` one
 * PipelineInfo per line.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { PipelineInfo } from '../../client/index.js';
import { subcommand } from '../command-tree.js';
import { rawLine, rawPretty, TabWriter } from '../output.js';
import { compactJson, PIPELINE_HEADER, pipelineRow } from '../tables.js';
import { historyOption, parsePipelineArg } from './pps-args.js';

interface Options {
  spec?: boolean;
  history: number;
  raw?: boolean;
}

/** Keeps the newest `1 + history` versions of each pipeline (the list is grouped, newest first). */
function limitHistory(infos: readonly PipelineInfo[], history: number): PipelineInfo[] {
  const seen = new Map<string, number>();
  return infos.filter((p) => {
    const n = seen.get(p.name) ?? 0;
    seen.set(p.name, n + 1);
    return n <= history;
  });
}

async function pipelinesToList(ctx: CliContext, name: string | undefined, history: number): Promise<PipelineInfo[]> {
  const client = ctx.client();
  if (name === undefined) return history > 0 ? limitHistory(await client.listPipelines({ history: true }), history) : client.listPipelines();
  return history > 0 ? limitHistory(await client.pipelineHistory(name), history) : [await client.inspectPipeline(name)];
}

export function registerPipelineList(program: Command, ctx: CliContext): void {
  subcommand(program, ['list', 'pipeline'], 'Return info about all pipelines.')
    .argument('[pipeline]', 'only this pipeline')
    .option('-s, --spec', 'print the specs as JSON')
    .option('--history <n>', 'also return up to n earlier versions of each pipeline ("all" for every one)', historyOption, 0)
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (arg: string | undefined, opts: Options) => {
      const infos = await pipelinesToList(ctx, arg === undefined ? undefined : parsePipelineArg(arg), opts.history);
      if (opts.raw === true) {
        for (const p of infos) ctx.out(rawLine(p));
        return;
      }
      if (opts.spec === true) {
        for (const p of infos) ctx.out(rawPretty(compactJson(p.spec)));
        return;
      }
      const now = ctx.now();
      const w = new TabWriter((s) => ctx.out(s), PIPELINE_HEADER);
      for (const p of infos) w.row(pipelineRow(p, now));
      w.flush();
    });
}
