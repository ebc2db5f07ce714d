/**
 * pachctl's verb-noun grammar on commander: `subcommand(program, ['create', 'repo'], …)` finds or
 * creates the verb group `create` and adds `repo` under it, so every command file can register
 * itself independently.
 */
import type { Command } from 'commander';

/** Adds (or finds) the command at `path` under `parent`; the last element is always new. */
export function subcommand(parent: Command, path: readonly string[], description: string): Command {
  let cur = parent;
  for (let i = 0; i < path.length; i++) {
    const name = path[i] ?? '';
    const last = i === path.length - 1;
    const existing = last ? undefined : cur.commands.find((c) => c.name() === name);
    if (existing !== undefined) {
      cur = existing;
      continue;
    }
    cur = cur.command(name).description(last ? description : `${name} commands`);
  }
  return cur;
}
