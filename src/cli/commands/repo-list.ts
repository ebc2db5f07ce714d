/**
 * `list repo [--all] [--raw]`: NAME CREATED SIZE (MASTER) DESCRIPTION. User repos only unless
 * `--all` (system repos print as `name.spec` / `name.meta`). When auth is active, pachctl's
 * `ACCESS LEVEL` column is added: the caller's role on each repo (`NONE` without one).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { rawLine, TabWriter } from '../output.js';
import { REPO_HEADER, repoRow } from '../tables.js';

const ACCESS_HEADER = ['NAME', 'CREATED', 'SIZE (MASTER)', 'ACCESS LEVEL', 'DESCRIPTION'] as const;

export function registerRepoList(program: Command, ctx: CliContext): void {
  subcommand(program, ['list', 'repo'], 'Return a list of repos.')
    .option('--all', 'include system repos of all types')
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (opts: { all?: boolean; raw?: boolean }) => {
      const client = ctx.client();
      const repos = await client.listRepos({ all: opts.all === true });
      if (opts.raw === true) {
        for (const r of repos) ctx.out(rawLine(r));
        return;
      }
      const now = ctx.now();
      const access = await client.accessLevels();
      if (!access.active) {
        const w = new TabWriter((s) => ctx.out(s), REPO_HEADER);
        for (const r of repos) w.row(repoRow(r, now));
        w.flush();
        return;
      }
      const w = new TabWriter((s) => ctx.out(s), ACCESS_HEADER);
      for (const r of repos) {
        const [name, created, size, description] = repoRow(r, now);
        const level = access.clusterAdmin ? 'repoOwner' : access.repos[r.name] ?? 'NONE';
        w.row([name!, created!, size!, level, description!]);
      }
      w.flush();
    });
}
