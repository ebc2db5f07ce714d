/**
 * `config list context`: ACTIVE NAME, the active context marked with `*`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { configPath, readConfig } from '../../client/index.js';
import { subcommand } from '../command-tree.js';
import { TabWriter } from '../output.js';

export function registerConfigList(program: Command, ctx: CliContext): void {
  subcommand(program, ['config', 'list', 'context'], 'Lists contexts.')
    .action(() => {
      const cfg = readConfig(configPath(ctx.env));
      const active = cfg?.v2?.active_context;
      const w = new TabWriter((s) => ctx.out(s), ['ACTIVE', 'NAME']);
      for (const name of Object.keys(cfg?.v2?.contexts ?? {}).sort()) w.row([name === active ? '*' : '', name]);
      w.flush();
    });
}
