/**
 * `delete all [--force]`: deletes every pipeline and every repo. On a terminal it lists what will
 * go and asks for confirmation (`y` or `yes`; anything else deletes nothing), as pachctl does.
 * When stdin is not a terminal there is nobody to ask: it refuses (exit 2) unless `--force`.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';
import { stdinIsTty } from './pps-args.js';

/** Asks on stderr, reads one line from stdin; true for `y`/`yes`. */
async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  const rl = createInterface({ input: ctx.io.stdin, terminal: false });
  try {
    ctx.err(question);
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}

export function registerDeleteAll(program: Command, ctx: CliContext): void {
  subcommand(program, ['delete', 'all'], 'Delete everything: all pipelines, repos, commits, files and jobs.')
    .option('--force', 'do not ask for confirmation')
    .action(async (opts: { force?: boolean }) => {
      const client = ctx.client();
      if (opts.force !== true) {
        if (!stdinIsTty(ctx)) {
          throw new SluiceError('INVALID_ARGUMENT', 'delete all asks for confirmation, but stdin is not a terminal; pass --force to delete all repos and pipelines');
        }
        const [repos, pipelines] = await Promise.all([client.listRepos(), client.listPipelines()]);
        ctx.out('All repos, commits, files, pipelines and jobs will be deleted.\n');
        if (repos.length > 0) ctx.out(`Repos to delete: ${repos.map((r) => r.name).join(', ')}\n`);
        if (pipelines.length > 0) ctx.out(`Pipelines to delete: ${pipelines.map((p) => p.name).join(', ')}\n`);
        if (!(await confirm(ctx, 'Are you sure you want to delete all repos, pipelines, commits, files and jobs? (y/N): '))) return;
      }
      await client.deleteAll();
    });
}
