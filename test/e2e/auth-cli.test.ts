/**
 * The auth commands of the CLI end to end: `sluice daemon` as a child process, and `node
 * bin/sluice.js auth ...` run with PACH_CONFIG pointing at a temp config file, as pachctl users
 * run them: activate (prints the root token once and stores it in the active context),
 * use-auth-token from stdin, whoami, get-robot-token (-q, --ttl), set/get repo, revoke, and
 * deactivate with its confirmation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startChildDaemon, tempDir, type ChildDaemon, runCli } from './harness.js';

interface RunResult {
  code: number | null;
  out: string;
  err: string;
}

describe('auth commands of the CLI', () => {
  let daemon: ChildDaemon;
  let dataDir: string;
  let work: string;
  let rootCfg: string;
  let userCfg: string;

  async function run(args: string[], opts: { config?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: work, PACHD_ADDRESS: daemon.address, PACH_CONFIG: opts.config ?? rootCfg, ...opts.env };
    const r = await runCli(args, env, opts.input);
    return { code: r.code, out: r.out, err: r.err };
  }

  async function ok(args: string[], opts: { config?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
    const r = await run(args, opts);
    assert.equal(r.code, 0, `sluice ${args.join(' ')} exited ${r.code}: ${r.err}`);
    return r.out;
  }

  async function fails(args: string[], code: number, message: RegExp, opts: { config?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
    const r = await run(args, opts);
    assert.equal(r.code, code, `sluice ${args.join(' ')}: expected exit ${code}, got ${r.code} (${r.err.trim()})`);
    assert.match(r.err, /^error: /);
    assert.match(r.err, message);
  }

  async function sessionToken(config: string): Promise<string | undefined> {
    const cfg = JSON.parse(await readFile(config, 'utf8')) as { v2: { active_context: string; contexts: Record<string, { session_token?: string }> } };
    return cfg.v2.contexts[cfg.v2.active_context]?.session_token;
  }

  before(async () => {
    dataDir = await tempDir('sluice-auth-cli-data-');
    work = await tempDir('sluice-auth-cli-');
    rootCfg = join(work, 'root.json');
    userCfg = join(work, 'user.json');
    daemon = await startChildDaemon(dataDir);
  });
  after(async () => {
    daemon.proc.kill('SIGTERM');
    await new Promise((resolve) => daemon.proc.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('says auth is not activated before activate', async () => {
    await fails(['auth', 'whoami'], 5, /not activated/);
  });

  it('activates: prints the root token once and stores it in the active context', async () => {
    const out = await ok(['auth', 'activate']);
    const m = /Pachyderm root token:\n([0-9a-f]{64})\n/.exec(out);
    assert.ok(m !== null, out);
    assert.equal(await sessionToken(rootCfg), m[1]);
    assert.equal(await ok(['auth', 'whoami']), 'You are "pach:root"\n');
    await fails(['auth', 'activate'], 5, /already activated/);
    await fails(['list', 'repo'], 3, /needs an auth token/, { config: userCfg });
  });

  it('gives a robot a token and a role, which use-auth-token then uses', async () => {
    await ok(['create', 'repo', 'images']);
    await ok(['put', 'file', 'images@master:/a.txt', '-f', '-'], { input: 'hello' });
    const token = (await ok(['auth', 'get-robot-token', '-q', 'alice'])).trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    await ok(['auth', 'set', 'repo', 'images', 'repoReader', 'robot:alice']);
    assert.equal(await ok(['auth', 'get', 'repo', 'images']), 'pach:root: [repoOwner]\nrobot:alice: [repoReader]\n');
    assert.equal(await ok(['auth', 'use-auth-token'], { config: userCfg, input: `${token}\n` }), 'Please paste your Pachyderm auth token:\n');
    assert.equal(await sessionToken(userCfg), token);
    assert.equal(await ok(['auth', 'whoami'], { config: userCfg }), 'You are "robot:alice"\n');
    assert.equal(await ok(['get', 'file', 'images@master:/a.txt'], { config: userCfg }), 'hello');
    await fails(['put', 'file', 'images@master:/b.txt', '-f', '-'], 3, /robot:alice is not authorized.*repoWriter.*repo images/, { config: userCfg, input: 'x' });
    await fails(['auth', 'set', 'repo', 'images', 'repoOwner', 'robot:alice'], 3, /not authorized/, { config: userCfg });
    await fails(['auth', 'set', 'repo', 'images', 'repoKing', 'robot:alice'], 2, /unknown repo role/);
  });

  it('prints a robot token with a ttl and its expiry in whoami', async () => {
    const out = await ok(['auth', 'get-robot-token', 'bob', '--ttl', '1h']);
    const m = /^Token: ([0-9a-f]{64})\n$/.exec(out);
    assert.ok(m !== null, out);
    const who = await ok(['auth', 'whoami'], { env: { PACH_TOKEN: m[1] } });
    assert.match(who, /^You are "robot:bob"\nsession expires: \d{4}-/);
    await fails(['auth', 'get-robot-token', 'carol', '--ttl', 'soon'], 2, /could not parse duration/);
  });

  it('revokes a token', async () => {
    const token = await sessionToken(userCfg);
    assert.ok(token !== undefined);
    await fails(['auth', 'revoke'], 2, /one of --token or --user/);
    await ok(['auth', 'revoke', '--token', token]);
    await fails(['auth', 'whoami'], 3, /not valid/, { config: userCfg });
  });

  it('deactivates after confirmation, and access is open again', async () => {
    await fails(['auth', 'deactivate'], 2, /aborted/, { input: 'n\n' });
    const out = await ok(['auth', 'deactivate'], { input: 'y\n' });
    assert.match(out, /Are you sure/);
    await fails(['auth', 'whoami'], 5, /not activated/, { config: userCfg });
    assert.match(await ok(['list', 'repo'], { config: userCfg }), /images/);
  });
});
