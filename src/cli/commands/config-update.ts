/**
 * `config update context [<name>] --pachd-address <addr>`: sets a context's daemon address
 * (the active context by default). A context that does not exist yet is created, and becomes
 * the active one when there is none, so a fresh machine needs one command.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { configPath, readConfig, SluiceError, toBaseUrl, writeConfig, type ContextConfig } from '../../client/index.js';
import { subcommand } from '../command-tree.js';

export function registerConfigUpdate(program: Command, ctx: CliContext): void {
  subcommand(program, ['config', 'update', 'context'], "Updates a context's settings.")
    .argument('[context]', 'name of the context (default: the active one)')
    .option('--pachd-address <address>', "the daemon's address, host:port (an empty value clears it)")
    .action((arg: string | undefined, opts: { pachdAddress?: string }) => {
      const path = configPath(ctx.env);
      const cfg = readConfig(path) ?? {};
      const v2 = cfg.v2 ?? {};
      const name = arg ?? v2.active_context;
      if (name === undefined || name === '') throw new SluiceError('INVALID_ARGUMENT', 'no context named and no active context');
      const contexts: Record<string, ContextConfig> = { ...(v2.contexts ?? {}) };
      const next: ContextConfig = { ...(contexts[name] ?? {}) };
      if (opts.pachdAddress !== undefined) {
        if (opts.pachdAddress === '') delete next.pachd_address;
        else {
          toBaseUrl(opts.pachdAddress); // refuses an address that cannot be used
          next.pachd_address = opts.pachdAddress;
        }
      }
      contexts[name] = next;
      const active = v2.active_context === undefined || v2.active_context === '' ? name : v2.active_context;
      writeConfig(path, { ...cfg, v2: { ...v2, contexts, active_context: active } });
    });
}
