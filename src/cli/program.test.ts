import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { CommanderError, type Command } from 'commander';
import { CliContext } from './context.js';
import { buildProgram, programName } from './program.js';

function harness(): { ctx: CliContext; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ctx = new CliContext({ io: { stdout, stderr, stdin: new PassThrough() }, env: {}, exitNow: () => undefined });
  return { ctx, out: () => out, err: () => err };
}

function paths(cmd: Command, prefix: string[] = []): string[] {
  const here = cmd.commands.filter((c) => c.name() !== 'help');
  if (here.length === 0) return [prefix.join(' ')];
  return here.flatMap((c) => paths(c, [...prefix, c.name()]));
}

describe('the program', () => {
  it('has pachctl 2.x verb-noun commands', () => {
    const { ctx } = harness();
    const all = paths(buildProgram(ctx));
    for (const p of [
      'version', 'daemon', 'create repo', 'update repo', 'list repo', 'inspect repo', 'delete repo',
      'create branch', 'list branch', 'inspect branch', 'delete branch',
      'start commit', 'finish commit', 'inspect commit', 'list commit', 'wait commit', 'subscribe commit', 'delete commit', 'squash commit',
      'put file', 'get file', 'list file', 'glob file', 'diff file', 'delete file', 'copy file', 'inspect file', 'fsck',
      'config get active-context', 'config set active-context', 'config update context', 'config list context',
    ]) assert.ok(all.includes(p), `missing command: ${p}`);
  });

  it('throws a CommanderError for an unknown command and says why on stderr', async () => {
    const h = harness();
    await assert.rejects(buildProgram(h.ctx).parseAsync(['frobnicate'], { from: 'user' }), (e: unknown) => e instanceof CommanderError && e.code === 'commander.unknownCommand');
    assert.match(h.err(), /^error: unknown command 'frobnicate'/);
  });

  it('throws a CommanderError for a bad option value', async () => {
    const h = harness();
    await assert.rejects(buildProgram(h.ctx).parseAsync(['list', 'commit', 'x', '-n', 'many'], { from: 'user' }), (e: unknown) => e instanceof CommanderError && e.code === 'commander.invalidArgument');
  });

  it('prints the client version without a daemon', async () => {
    const h = harness();
    await buildProgram(h.ctx).parseAsync(['version', '--client-only'], { from: 'user' });
    assert.match(h.out(), /^\d+\.\d+\.\d+/);
  });

  it('names itself after the binary it was run as', () => {
    assert.equal(programName('/usr/local/bin/pachctl'), 'pachctl');
    assert.equal(programName('/work/main/bin/sluice.js'), 'sluice');
    assert.equal(programName(undefined), 'sluice');
    // A spout's /pach-bin/pachctl shim runs bin/sluice.js: it says which name it was.
    assert.equal(programName('/work/main/bin/sluice.js', { SLUICE_INVOKED_AS: 'pachctl' }), 'pachctl');
  });
});
