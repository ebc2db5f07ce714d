/**
 * Builds the commander program with pachctl 2.x's verb-noun grammar (`create repo`, `put file`,
 * `config get active-context`). Each command lives in its own file under `commands/` and
 * registers itself through `subcommand` (command-tree.ts).
 *
 * Usage errors (unknown command, missing argument, bad option value) are reported by commander
 * as `error: <message>` on stderr; `exitOverride` turns them into a thrown `CommanderError`
 * that main maps to exit code 2.
 */
import { Command } from 'commander';
import type { CliContext } from './context.js';
import { registerCommands } from './commands/index.js';

/**
 * The name the user typed: `pachctl` or `sluice`. A shim that runs `node …/bin/sluice.js` under
 * another name (a spout's `/pach-bin/pachctl`) says which in `SLUICE_INVOKED_AS`, since argv
 * then names the script.
 */
export function programName(argv1: string | undefined, env: Readonly<Record<string, string | undefined>> = {}): string {
  const invoked = env.SLUICE_INVOKED_AS;
  if (invoked !== undefined && /^[A-Za-z0-9._-]+$/.test(invoked)) return invoked;
  const base = (argv1 ?? 'sluice').split(/[\\/]/).pop() ?? 'sluice';
  const name = base.replace(/\.(c|m)?js$/, '');
  return name === '' || name === 'main' ? 'sluice' : name;
}

export function buildProgram(ctx: CliContext, name = 'sluice'): Command {
  const program = new Command(name);
  program
    .description('Sluice: a versioned data store with pipelines and spouts (pachctl-compatible CLI)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out(s),
      writeErr: (s) => ctx.err(s),
    })
    .showSuggestionAfterError(true);
  registerCommands(program, ctx);
  return program;
}
