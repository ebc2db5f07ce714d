/**
 * The CLI binary end to end: a real daemon (`sluice daemon` as a child process on a temp data
 * directory and a free port), driven by running `node bin/sluice.js ...` with PACHD_ADDRESS,
 * exactly as a user or a spout would. Checks the pachctl-style tables, the one-command-one-commit
 * rule of `put file`, byte-exact round trips, and the `error: <message>` + exit code contract.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, eventually, startCliDaemon, type ChildDaemon, runCli } from './harness.js';

interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as text. */
  out: string;
}

describe('sluice CLI against a real daemon', () => {
  let daemon: ChildDaemon;
  let work: string;
  let env: NodeJS.ProcessEnv;

  async function run(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    const r = await runCli(args, opts.env ?? env, opts.input);
    return { code: r.code, stdout: r.stdout, stderr: r.err, out: r.out };
  }

  /** Runs and expects exit 0 with nothing on stderr. */
  async function ok(args: string[], opts: { input?: string | Buffer } = {}): Promise<string> {
    const r = await run(args, opts);
    assert.equal(r.code, 0, `sluice ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    assert.equal(r.stderr, '', `sluice ${args.join(' ')} wrote to stderr`);
    return r.out;
  }

  /** Runs and expects a failure with `error: <message>` on stderr and the given exit code. */
  async function fails(args: string[], code: number, message: RegExp, opts: { input?: string } = {}): Promise<void> {
    const r = await run(args, opts);
    assert.equal(r.code, code, `sluice ${args.join(' ')}: expected exit ${code}, got ${r.code} (${r.stderr.trim()})`);
    assert.match(r.stderr, /^error: /, `stderr: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.out, '');
  }

  async function commitCount(repo: string): Promise<number> {
    const out = await ok(['list', 'commit', repo, '--raw']);
    return out.split('\n').filter((l) => l !== '').length;
  }

  function lines(text: string): string[] {
    return text.split('\n').filter((l) => l !== '');
  }

  let stopDaemon: () => Promise<void>;
  before(async () => {
    ({ daemon, work, env, stop: stopDaemon } = await startCliDaemon('cli-e2e'));
  });

  after(async () => stopDaemon());

  it('prints the client and daemon versions', async () => {
    const out = lines(await ok(['version']));
    assert.match(out[0] ?? '', /^COMPONENT +VERSION$/);
    assert.match(out[1] ?? '', /^pachctl +\d+\.\d+\.\d+/);
    assert.match(out[2] ?? '', /^pachd +\d+\.\d+\.\d+/);
  });

  it('creates, lists and inspects a repo', async () => {
    await ok(['create', 'repo', 'images', '-d', 'some pictures']);
    const list = lines(await ok(['list', 'repo']));
    assert.match(list[0] ?? '', /^NAME +CREATED +SIZE \(MASTER\) +DESCRIPTION$/);
    assert.match(list.find((l) => l.startsWith('images ')) ?? '', /^images +(Less than a second|\d+ seconds?) ago +0B +some pictures$/);
    const inspect = await ok(['inspect', 'repo', 'images']);
    assert.match(inspect, /^Name: images\nDescription: some pictures\nCreated: .+ ago\nSize of HEAD on master: 0B\n$/);
    const raw = JSON.parse(await ok(['inspect', 'repo', 'images', '--raw'])) as { name: string; description: string };
    assert.equal(raw.name, 'images');
    assert.equal(raw.description, 'some pictures');
  });

  it('puts a local file and stdin, one commit each, and lists them with headers', async () => {
    await ok(['create', 'repo', 'put1']);
    const local = join(work, 'hello.txt');
    await writeFile(local, 'hello\n');
    await ok(['put', 'file', 'put1@master', '-f', local]);
    await ok(['put', 'file', 'put1@master:/dir/from-stdin.txt'], { input: 'x'.repeat(1536) });
    assert.equal(await commitCount('put1'), 2);
    assert.equal(await ok(['list', 'file', 'put1@master']), 'NAME       TYPE SIZE\n/dir/      dir  1.5KiB\n/hello.txt file 6B\n');
    assert.equal(await ok(['list', 'file', 'put1@master:/dir']), 'NAME                TYPE SIZE\n/dir/from-stdin.txt file 1.5KiB\n');
    assert.equal(await ok(['get', 'file', 'put1@master:/hello.txt']), 'hello\n');
    const raw = lines(await ok(['list', 'file', 'put1@master', '--raw'])).map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual(raw.map((f) => f.type), ['dir', 'file']);
  });

  it('puts a directory of 100 files with -r as exactly one commit', async () => {
    await ok(['create', 'repo', 'many']);
    const src = join(work, 'batch');
    await mkdir(join(src, 'nested'), { recursive: true });
    for (let i = 0; i < 99; i++) await writeFile(join(src, `f${String(i).padStart(3, '0')}.txt`), `file ${i}\n`);
    await writeFile(join(src, 'nested', 'deep.txt'), 'deep\n');
    await ok(['put', 'file', '-r', 'many@master', '-f', src, '-p', '4']);
    assert.equal(await commitCount('many'), 1);
    // The header is reprinted every 50 lines, as pachctl does.
    const listing = lines(await ok(['list', 'file', 'many@master:/batch']));
    assert.deepEqual([0, 50, 100].map((i) => /^NAME +TYPE +SIZE$/.test(listing[i] ?? '')), [true, true, true]);
    const rows = listing.filter((l) => !l.startsWith('NAME '));
    assert.equal(rows.length, 100);
    assert.match(rows[0] ?? '', /^\/batch\/f000\.txt +file +7B$/);
    assert.match(rows[99] ?? '', /^\/batch\/nested\/ +dir +5B$/);
    // With a path, the directory's contents land directly under it.
    await ok(['put', 'file', '-r', 'many@master:/copy', '-f', src]);
    assert.equal(await commitCount('many'), 2);
    assert.equal(await ok(['get', 'file', 'many@master:/copy/nested/deep.txt']), 'deep\n');
  });

  it('round-trips a 20 MB random file byte for byte, to stdout and to -o', async () => {
    await ok(['create', 'repo', 'big']);
    const data = randomBytes(20 * 1024 * 1024);
    const local = join(work, 'random.bin');
    await writeFile(local, data);
    await ok(['put', 'file', 'big@master:/random.bin', '-f', local]);
    const r = await run(['get', 'file', 'big@master:/random.bin']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(data), 'stdout differs from the file put');
    const dest = join(work, 'random.out');
    await ok(['get', 'file', 'big@master:/random.bin', '-o', dest]);
    assert.ok((await readFile(dest)).equals(data), '-o file differs from the file put');
    assert.match(await ok(['list', 'file', 'big@master']), /\/random\.bin file 20MiB/);
  });

  it('gets a directory with -r into a local directory', async () => {
    const out = join(work, 'fetched');
    await ok(['get', 'file', '-r', 'many@master:/batch', '-o', out]);
    const names = (await readdir(out)).sort();
    assert.equal(names.length, 100);
    assert.equal(await readFile(join(out, 'f042.txt'), 'utf8'), 'file 42\n');
    assert.equal(await readFile(join(out, 'nested', 'deep.txt'), 'utf8'), 'deep\n');
  });

  it('lists and inspects commits in pachctl format', async () => {
    const list = lines(await ok(['list', 'commit', 'put1']));
    assert.match(list[0] ?? '', /^REPO +BRANCH +COMMIT +FINISHED +SIZE +ORIGIN +DESCRIPTION$/);
    assert.equal(list.length, 3);
    assert.match(list[1] ?? '', /^put1 +master +[0-9a-f]{32} +.+ ago +1\.506KiB +USER$/);
    const [head] = lines(await ok(['list', 'commit', 'put1@master', '-n', '1', '--raw'])).map((l) => JSON.parse(l) as { id: string; parent: string });
    assert.ok(head !== undefined);
    const inspect = await ok(['inspect', 'commit', `put1@${head.id}`]);
    assert.match(inspect, new RegExp(`^Commit: put1@${head.id}\nOriginal Branch: master\nParent: ${head.parent}\nStarted: .+ ago\nFinished: .+ ago\nSize: \\S+\n$`));
    assert.equal(lines(await ok(['list', 'commit', 'put1', '-n', '1'])).length, 2);
  });

  it('makes one commit from start commit, two puts and finish commit', async () => {
    await ok(['create', 'repo', 'txn']);
    const id = (await ok(['start', 'commit', 'txn@master'])).trim();
    assert.match(id, /^[0-9a-f]{32}$/);
    await ok(['put', 'file', 'txn@master:/a.txt'], { input: 'a' });
    await ok(['put', 'file', `txn@${id}:/b.txt`], { input: 'b' });
    const open = lines(await ok(['list', 'commit', 'txn']));
    assert.equal(open.length, 2);
    assert.match(open[1] ?? '', new RegExp(`^txn +master +${id} +- +- +USER$`));
    await ok(['finish', 'commit', 'txn@master', '-m', 'two files']);
    const done = lines(await ok(['list', 'commit', 'txn']));
    assert.equal(done.length, 2);
    assert.match(done[1] ?? '', new RegExp(`^txn +master +${id} +.+ ago +2B +USER +two files$`));
    assert.equal(await ok(['list', 'file', 'txn@master']), 'NAME   TYPE SIZE\n/a.txt file 1B\n/b.txt file 1B\n');
  });

  it('reads ancestors with master^', async () => {
    await ok(['put', 'file', 'txn@master:/a.txt'], { input: 'changed' });
    assert.equal(await ok(['get', 'file', 'txn@master:/a.txt']), 'changed');
    assert.equal(await ok(['get', 'file', 'txn@master^:/a.txt']), 'a');
    assert.equal(await ok(['get', 'file', 'txn@master~1:/a.txt']), 'a');
    assert.equal(await ok(['get', 'file', 'txn@master.0:/a.txt']), 'a');
  });

  it('globs, diffs, deletes and copies files, one commit per change', async () => {
    assert.equal(await ok(['glob', 'file', 'many@master:/batch/f00*']), ['NAME            TYPE SIZE', ...Array.from({ length: 10 }, (_, i) => `/batch/f00${i}.txt file 7B`), ''].join('\n'));
    assert.equal(await ok(['diff', 'file', 'txn@master']), '~ /a.txt\n');
    const before = await commitCount('txn');
    await ok(['delete', 'file', 'txn@master:/b.txt']);
    await ok(['copy', 'file', 'many@master:/batch/nested', 'txn@master:/copied']);
    assert.equal(await commitCount('txn'), before + 2);
    assert.equal(await ok(['list', 'file', 'txn@master']), 'NAME     TYPE SIZE\n/a.txt   file 7B\n/copied/ dir  5B\n');
    assert.equal(await ok(['diff', 'file', 'txn@master', 'txn@master~2']), '- /b.txt\n+ /copied/deep.txt\n');
    assert.equal(await ok(['inspect', 'file', 'txn@master:/copied']), 'Path: /copied/\nType: dir\nSize: 5B\n');
  });

  it('prints branches with their heads', async () => {
    await ok(['create', 'branch', 'txn@dev', '--head', 'master^']);
    await ok(['create', 'branch', 'txn@empty']);
    const out = lines(await ok(['list', 'branch', 'txn']));
    assert.match(out[0] ?? '', /^BRANCH +HEAD +TRIGGER$/);
    assert.ok(out.some((l) => /^dev +[0-9a-f]{32} +-$/.test(l)), out.join('\n'));
    assert.ok(out.some((l) => /^empty +- +-$/.test(l)), out.join('\n'));
    assert.match(await ok(['inspect', 'branch', 'txn@dev']), /^Name: txn@dev\nHead Commit: txn@[0-9a-f]{32}\n$/);
    await ok(['delete', 'branch', 'txn@empty']);
    assert.ok(!(await ok(['list', 'branch', 'txn'])).includes('empty'));
  });

  it('streams commits as they finish with subscribe commit, until SIGINT', async () => {
    await ok(['create', 'repo', 'sub']);
    const child = spawn(process.execPath, [CLI, 'subscribe', 'commit', 'sub@master', '--new'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually(async () => (out.startsWith('REPO') ? true : undefined), 20_000, 'the subscribe header');
    // The subscription may not be registered yet when the header prints; put until a row shows.
    await eventually(async () => {
      await ok(['put', 'file', 'sub@master:/x.txt'], { input: 'x' });
      return /\nsub +master +[0-9a-f]{32} +.+ ago +1B +USER/.test(out) ? true : undefined;
    }, 20_000, 'a subscribed commit row');
    child.kill('SIGINT');
    assert.equal(await exited, 0, err);
  });

  it('waits for a commit to finish with wait commit', async () => {
    const id = (await ok(['start', 'commit', 'sub@master'])).trim();
    const waiting = run(['wait', 'commit', `sub@${id}`]);
    await ok(['finish', 'commit', `sub@${id}`]);
    const r = await waiting;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, new RegExp(`^Commit: sub@${id}\n`));
    assert.match(r.out, /\nFinished: .+ ago\n/);
  });

  it('leaves no commit when a put file fails part way', async () => {
    await ok(['create', 'repo', 'atomic']);
    const dir = join(work, 'conflict');
    await mkdir(join(dir, 'f'), { recursive: true });
    await writeFile(join(dir, 'f', 'x'), 'x');
    const file = join(work, 'f');
    await writeFile(file, 'a file named f');
    // /f as a file and /f/x under a directory /f cannot both exist: the commit is refused whole.
    await fails(['put', 'file', '-r', 'atomic@master', '-f', file, '-f', join(dir, 'f')], 5, /\/f/);
    assert.equal(await commitCount('atomic'), 0);
  });

  it('reports bad input as error: <message> with a non-zero exit code', async () => {
    await fails(['create', 'repo', 'bad name!'], 2, /repo name \("bad name!"\) invalid/);
    await fails(['list', 'file', 'missing@master'], 4, /repo missing not found/);
    await fails(['put', 'file', 'missing@master:/x.txt'], 4, /repo missing not found/, { input: 'x' });
    await fails(['inspect', 'commit', 'txn@0123456789abcdef0123456789abcdef'], 4, /commit txn@0123456789abcdef0123456789abcdef not found/);
    await fails(['finish', 'commit', 'txn@master'], 5, /has already been finished/);
    await fails(['put', 'file', 'txn@master:../escape.txt'], 2, /path "\.\.\/escape\.txt" has a "\.\." segment/, { input: 'x' });
    await fails(['get', 'file', 'txn@master:/a/../../etc/passwd'], 2, /has a "\.\." segment/);
    await fails(['put', 'file', 'txn@master'], 2, /must specify filename when reading data from stdin/, { input: 'x' });
    const unknown = await run(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown command 'frobnicate'/);
    const missingArg = await run(['create', 'repo']);
    assert.equal(missingArg.code, 2);
    assert.match(missingArg.stderr, /^error: missing required argument 'repo'/);
  });

  it('finds the daemon through the active context of PACH_CONFIG', async () => {
    const config = join(work, 'ctx.json');
    const cfgEnv = { ...process.env, PACH_CONFIG: config, PACHD_ADDRESS: '' };
    const cfgOk = async (args: string[]): Promise<string> => {
      const r = await run(args, { env: cfgEnv });
      assert.equal(r.code, 0, r.stderr);
      return r.out;
    };
    await cfgOk(['config', 'update', 'context', 'local', '--pachd-address', daemon.address]);
    assert.equal(await cfgOk(['config', 'get', 'active-context']), 'local\n');
    assert.match(await cfgOk(['list', 'repo']), /\nimages /);
    await cfgOk(['config', 'update', 'context', 'other', '--pachd-address', '127.0.0.1:1']);
    assert.equal(await cfgOk(['config', 'list', 'context']), 'ACTIVE NAME\n*      local\n       other\n');
    await cfgOk(['config', 'set', 'active-context', 'other']);
    const down = await run(['list', 'repo'], { env: cfgEnv });
    assert.equal(down.code, 6);
    assert.match(down.stderr, /^error: cannot reach the daemon at http:\/\/127\.0\.0\.1:1/);
  });

  it('checks the store with fsck', async () => {
    assert.match(await ok(['fsck']), /No errors found\.\n$/);
  });
});
