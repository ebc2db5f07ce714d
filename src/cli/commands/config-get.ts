/**
 * `config get active-context`: the name of the active context in the config file (`PACH_CONFIG`,
 * or `~/.pachyderm/config.json`).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { configPath, readConfig, SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';

export function registerConfigGet(program: Command, ctx: CliContext): void {
  subcommand(program, ['config', 'get', 'active-context'], 'Gets the currently active context.')
    .action(() => {
      const path = configPath(ctx.env);
      const name = readConfig(path)?.v2?.active_context;
      if (name === undefined || name === '') throw new SluiceError('CLIENT_CONFIG_INVALID', `no active context in ${path}`, { details: { path } });
      ctx.out(`${name}\n`);
    });
}
