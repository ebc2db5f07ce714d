/**
 * `list commit [<commit-id> | <repo>[@<branch-or-commit>]] [-n N] [-f id] [--raw]`:
 * REPO BRANCH COMMIT FINISHED SIZE ORIGIN DESCRIPTION, newest first.
 *
 * - `<repo>`: every commit of the repo; `<repo>@<ref>`: the ref and its ancestors, stopping
 *   before `--from`.
 * - a bare 32-hex id: the commits of that commit set across repos (as pachctl 2.x).
 * - no argument: pachctl lists commit sets; the SDK has no call for that, so Sluice lists the
 *   commits of every repo instead (same table), newest first.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError, type CommitInfo } from '../../client/index.js';
import { intOption } from '../args.js';
import { parseAddress } from '../../lib/address.js';
import { subcommand } from '../command-tree.js';
import { rawLine, TabWriter } from '../output.js';
import { COMMIT_HEADER, commitRow } from '../tables.js';

interface Options {
  number?: number;
  from?: string;
  raw?: boolean;
}

async function fetchCommits(ctx: CliContext, arg: string | undefined, opts: Options): Promise<CommitInfo[]> {
  const client = ctx.client();
  const limit = opts.number !== undefined && opts.number > 0 ? opts.number : undefined;
  if (arg === undefined) {
    if (opts.from !== undefined) throw new SluiceError('INVALID_ARGUMENT', 'cannot specify --from when listing all commits');
    const all: CommitInfo[] = [];
    for (const r of await client.listRepos()) all.push(...(await client.listCommits(r.name, limit === undefined ? {} : { limit })));
    all.sort((a, b) => b.started - a.started);
    return limit === undefined ? all : all.slice(0, limit);
  }
  if (!arg.includes('@') && /^[0-9a-f]{32}$/.test(arg)) {
    const set = await client.listCommitSet(arg);
    return limit === undefined ? set : set.slice(0, limit);
  }
  const a = parseAddress(arg, 'commit');
  if (a.path !== undefined) throw new SluiceError('INVALID_ARGUMENT', `invalid commit ${JSON.stringify(arg)}: a commit takes no ":path"`);
  return client.listCommits(a.repo, {
    ...(a.ref === undefined ? {} : { branch: a.ref }),
    ...(limit === undefined ? {} : { limit }),
    ...(opts.from === undefined ? {} : { from: opts.from }),
  });
}

export function registerCommitList(program: Command, ctx: CliContext): void {
  subcommand(program, ['list', 'commit'], 'Return a list of commits.')
    .argument('[commit-id | repo[@branch-or-commit]]', 'a commit set id, or a repo (and branch or commit)')
    .option('-n, --number <n>', 'list only this many commits; 0 lists all', intOption)
    .option('-f, --from <commit-id>', 'list all commits since this commit')
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (arg: string | undefined, opts: Options) => {
      const commits = await fetchCommits(ctx, arg, opts);
      if (opts.raw === true) {
        for (const c of commits) ctx.out(rawLine(c));
        return;
      }
      const now = ctx.now();
      const w = new TabWriter((s) => ctx.out(s), COMMIT_HEADER);
      for (const c of commits) w.row(commitRow(c, now));
      w.flush();
    });
}
