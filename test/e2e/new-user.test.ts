/**
 * What a new user hits first, end to end on real daemons with the local executor (issue 13):
 * a script kept in the host's /tmp runs as it does in the user's shell; two daemons on one host
 * keep their spouts' scratch folders apart; user code cannot read the daemon's data folder,
 * and the pipeline's token is not in the host's process list.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, runCli, startTestDaemon, type TestDaemon } from './harness.js';
import type { Client } from '../../src/client/index.js';
import { packageRoot } from '../../src/lib/version.js';

const SEEDS = join(packageRoot(), 'test', 'fixtures', 'seed-specs');

/** The number of commits on repo@master (0 while there is none). */
async function commitCount(c: Client, repo: string): Promise<number> {
  return (await c.listCommits(repo, { branch: 'master' }).catch(() => [])).length;
}

async function waitJobDone(c: Client, pipeline: string): Promise<{ state: string; reason: string }> {
  return eventually(async () => {
    const jobs = await c.listJobs({ pipeline });
    const j = jobs[0];
    return j !== undefined && (j.state === 'success' || j.state === 'failure') ? j : undefined;
  }, 60_000, `a finished job of ${pipeline}`);
}

/** A spout 1.0 that writes a counter to /pfs/out, one archive per open, every 0.2 s. */
const TICKER = JSON.stringify({
  pipeline: { name: 'ticker' },
  spout: { overwrite: true },
  transform: {
    cmd: ['bash'],
    stdin: ['i=0', 'while true; do', '  i=$((i+1)); mkdir -p /tmp/files && echo $i > /tmp/files/n', '  tar -C /tmp/files -cf - n > /pfs/out || exit 1', '  sleep 0.2', 'done'],
  },
});

describe('a new user on one host', { timeout: 300_000 }, () => {
  // Outside /tmp, where the sandbox used to hide everything anyway: the data folder must be
  // hidden on purpose.
  let dataA: string;
  let a: TestDaemon;

  before(async () => {
    dataA = await mkdtemp('/var/tmp/sluice-newuser-a-');
    a = await startTestDaemon(dataA);
  });
  after(async () => {
    await a.client.deletePipeline('ticker', { force: true }).catch(() => undefined);
    await a.stop();
    await rm(dataA, { recursive: true, force: true });
  });

  it("runs `python3 /tmp/x/proc.py`: user code sees the host's /tmp", async () => {
    const c = a.client;
    const dir = await mkdtemp('/tmp/sluice-newuser-script-');
    try {
      await writeFile(join(dir, 'proc.py'), 'import os\nfor f in os.listdir("/pfs/in"):\n    open("/pfs/out/" + f, "w").write(open("/pfs/in/" + f).read().upper())\n');
      await c.createRepo('in');
      await c.putFile('in', 'master', '/a.txt', Buffer.from('hello\n'));
      const res = await c.createPipeline(JSON.stringify({ pipeline: { name: 'py' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['python3', join(dir, 'proc.py')] } }));
      assert.deepEqual(res.warnings, []);
      const job = await waitJobDone(c, 'py');
      assert.equal(job.state, 'success', job.reason);
      assert.equal((await c.getFileBuffer('py', 'master', '/a.txt')).toString(), 'HELLO\n');
    } finally {
      await c.deletePipeline('py', { force: true }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('warns at create time about a script that is not on this host, and the states name why it fails', async () => {
    const c = a.client;
    const env = { ...process.env, PACHD_ADDRESS: a.daemon.address };
    // Seed 003's spec as printed: a script only its image has.
    const r = await runCli(['create', 'pipeline', '-f', join(SEEDS, 'seed-003-spout-marker.json')], env);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning: pipeline "spoutmarker": transform\.cmd names the script \/spout-marker-example\.py, which does not exist on this host; the local executor runs transform\.cmd on this host and does not use transform\.image "spout-marker:v1"/);
    const crashing = await eventually(async () => {
      const info = await c.inspectPipeline('spoutmarker');
      return info.state === 'crashing' ? info : undefined;
    }, 30_000, 'the spout to show crashing');
    assert.match(crashing.reason, /spout-marker-example\.py/);
    await c.deletePipeline('spoutmarker', { force: true });

    // A transform: `create pipeline` warns; the job and then the pipeline name the reason.
    await c.createRepo('gone-in');
    await c.putFile('gone-in', 'master', '/a', Buffer.from('a'));
    const spec = JSON.stringify({ pipeline: { name: 'gone' }, input: { pfs: { repo: 'gone-in', glob: '/*' } }, transform: { cmd: ['python3', '/tmp/sluice-no-such-dir/proc.py'], image: 'python:3.11' } });
    const res = await c.createPipeline(spec);
    assert.equal(res.warnings.length, 1);
    assert.match(res.warnings[0] ?? '', /the script \/tmp\/sluice-no-such-dir\/proc\.py, which does not exist on this host/);
    const missing = await c.createPipeline(JSON.stringify({ pipeline: { name: 'nocmd' }, input: { pfs: { repo: 'gone-in', glob: '/*' } }, transform: { cmd: ['sluice-no-such-program'] } }));
    assert.match(missing.warnings[0] ?? '', /program "sluice-no-such-program" is not on the PATH user code gets/);
    const job = await waitJobDone(c, 'gone');
    assert.equal(job.state, 'failure');
    assert.match(job.reason, /proc\.py/);
    const info = await eventually(async () => {
      const i = await c.inspectPipeline('gone');
      return i.reason !== '' ? i : undefined;
    }, 10_000, 'the pipeline to name the reason');
    assert.match(info.reason, /^last job [0-9a-f]{32} failed: .*proc\.py/s);
    const nocmd = await waitJobDone(c, 'nocmd');
    assert.match(nocmd.reason, /user program "sluice-no-such-program" not found/);
    await c.deletePipeline('gone', { force: true });
    await c.deletePipeline('nocmd', { force: true });
  });

  it('takes `inspect pipeline --raw` back in `update pipeline`, and names an empty spec file', async () => {
    const env = { ...process.env, PACHD_ADDRESS: a.daemon.address };
    const dir = await mkdtemp('/tmp/sluice-newuser-cli-');
    try {
      await a.client.createRepo('raw-in');
      await a.client.createPipeline(JSON.stringify({ pipeline: { name: 'raw' }, input: { pfs: { repo: 'raw-in', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'true'] }, datum_tries: 2 }));
      const raw = await runCli(['inspect', 'pipeline', 'raw', '--raw'], env);
      assert.equal(raw.code, 0, raw.err);
      // Edited as a user would: a new description.
      const doc = JSON.parse(raw.out) as { spec: Record<string, unknown> };
      doc.spec.description = 'edited';
      await writeFile(join(dir, 'raw.json'), JSON.stringify(doc, null, 2));
      const up = await runCli(['update', 'pipeline', '-f', join(dir, 'raw.json')], env);
      assert.equal(up.code, 0, up.err);
      const info = await a.client.inspectPipeline('raw');
      assert.equal(info.version, 2);
      assert.equal(info.description, 'edited');
      assert.equal((info.spec as { datumTries?: number }).datumTries, 2);

      await writeFile(join(dir, 'empty.json'), '');
      const empty = await runCli(['create', 'pipeline', '-f', join(dir, 'empty.json')], env);
      assert.notEqual(empty.code, 0);
      assert.equal(empty.err, `error: no pipeline spec given: ${join(dir, 'empty.json')} is empty\n`);
      const stdin = await runCli(['create', 'pipeline'], env, '');
      assert.match(stdin.err, /^error: no pipeline spec given: stdin is empty/);
      await a.client.deletePipeline('raw', { force: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("hides the daemon's data folder (database, objects, scratch) from user code", async () => {
    const c = a.client;
    await c.createRepo('probe-in');
    await c.putFile('probe-in', 'master', '/x', Buffer.from('x'));
    await c.createPipeline(JSON.stringify({
      pipeline: { name: 'peek' },
      input: { pfs: { repo: 'probe-in', glob: '/' } },
      transform: { cmd: ['sh', '-c', `ls -A ${dataA} > /pfs/out/ls; cat ${dataA}/meta.db > /pfs/out/db 2>/dev/null; exit 0`] },
    }));
    const job = await waitJobDone(c, 'peek');
    assert.equal(job.state, 'success', job.reason);
    assert.equal((await c.getFileBuffer('peek', 'master', '/ls')).toString(), '');
    assert.equal((await c.getFileBuffer('peek', 'master', '/db')).toString(), '');
    await c.deletePipeline('peek', { force: true });
  });

  it("keeps the pipeline's token out of the host's process list", async () => {
    const c = a.client;
    await c.createPipeline(JSON.stringify({ pipeline: { name: 'sleeper' }, spout: {}, transform: { cmd: ['sh', '-c', 'echo up; exec sleep 1000000'] } }));
    const token = await a.daemon.auth.pipelineToken('sleeper');
    // Wait until the user code runs (its sleep is in the process list), then read every argv.
    const argvs = await eventually(async () => {
      const all: string[] = [];
      for (const name of await readdir('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        all.push(await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => ''));
      }
      return all.some((l) => l.includes('sleep\u00001000000')) ? all : undefined;
    }, 30_000, 'the spout to run');
    assert.ok(token.length > 0);
    assert.deepEqual(argvs.filter((l) => l.includes(token)).map((l) => l.split('\0').slice(0, 3).join(' ')), []);
    await c.deletePipeline('sleeper', { force: true });
  });

  it('keeps two daemons\' same-named spouts apart: deleting one leaves the other committing', async () => {
    const dataB = await mkdtemp('/var/tmp/sluice-newuser-b-');
    const b = await startTestDaemon(dataB);
    try {
      await a.client.createPipeline(TICKER);
      await eventually(async () => ((await commitCount(a.client, 'ticker')) >= 2 ? true : undefined), 30_000, 'commits of daemon A\'s spout');
      await b.client.createPipeline(TICKER);
      await eventually(async () => ((await commitCount(b.client, 'ticker')) >= 2 ? true : undefined), 30_000, 'commits of daemon B\'s spout');
      await b.client.deletePipeline('ticker', { force: true });
      const before = await commitCount(a.client, 'ticker');
      await eventually(async () => ((await commitCount(a.client, 'ticker')) >= before + 3 ? true : undefined), 30_000, 'daemon A\'s spout to keep committing');
      const info = await a.client.inspectPipeline('ticker');
      assert.equal(info.state, 'running', info.reason);
      // Each daemon's worker scratch is under its own data folder.
      assert.ok(existsSync(join(dataA, 'workers')), 'daemon A keeps its workers\' scratch under its data folder');
    } finally {
      await b.client.deletePipeline('ticker', { force: true }).catch(() => undefined);
      await b.stop();
      await rm(dataB, { recursive: true, force: true });
    }
  });
});
