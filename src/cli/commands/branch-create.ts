/**
 * `create branch <repo>@<branch> [--head <ref>] [-p <repo>@<branch> ...]`: creates or moves a
 * branch. `--head` is a branch or commit of the same repo (ancestry allowed); `-p` (repeatable)
 * sets the branches it is computed from.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { BranchRef } from '../../client/index.js';
import { collect, parseBranchArg } from '../args.js';
import { subcommand } from '../command-tree.js';

interface Options {
  head?: string;
  provenance?: string[];
}

export function registerBranchCreate(program: Command, ctx: CliContext): void {
  subcommand(program, ['create', 'branch'], 'Create a new branch, or update an existing branch, on a repo.')
    .argument('<repo@branch>', 'the branch to create')
    .option('--head <ref>', 'the head of the branch: a commit or branch of the same repo')
    .option('-p, --provenance <repo@branch>', 'a branch this branch is computed from (repeatable)', collect)
    .action(async (arg: string, opts: Options) => {
      const { repo, branch } = parseBranchArg(arg);
      const provenance: BranchRef[] = (opts.provenance ?? []).map((p) => {
        const b = parseBranchArg(p);
        return { repo: b.repo, branch: b.branch };
      });
      await ctx.client().createBranch(repo, branch, {
        ...(opts.head === undefined ? {} : { head: opts.head }),
        ...(provenance.length === 0 ? {} : { provenance }),
      });
    });
}
