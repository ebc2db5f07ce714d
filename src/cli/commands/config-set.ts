/**
 * `config set active-context <name>`: makes an existing context the active one.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { configPath, readConfig, SluiceError, writeConfig } from '../../client/index.js';
import { subcommand } from '../command-tree.js';

export function registerConfigSet(program: Command, ctx: CliContext): void {
  subcommand(program, ['config', 'set', 'active-context'], 'Sets the currently active context.')
    .argument('<context>', 'name of the context')
    .action((name: string) => {
      const path = configPath(ctx.env);
      const cfg = readConfig(path) ?? {};
      const contexts = cfg.v2?.contexts ?? {};
      if (!Object.prototype.hasOwnProperty.call(contexts, name)) {
        throw new SluiceError('CLIENT_CONFIG_INVALID', `context does not exist: ${name}`, { details: { path, context: name } });
      }
      writeConfig(path, { ...cfg, v2: { ...cfg.v2, contexts, active_context: name } });
    });
}
