/**
 * Issue 4's exactly-once test (DESIGN invariant 4): a spout that counts messages in its marker
 * (test/fixtures/spouts/counter.py: each archive holds the data file `n<k>` and the marker
 * `mark` = k+1) runs while the test kills, with SIGKILL and at random moments, in turn: the
 * user code, the `sluice worker` process, and the daemon itself (a child process restarted on
 * the same data directory). After every round the spout must make progress again; after all
 * rounds the output holds exactly n0..nK, each written once, and the marker says K+1.
 *
 * Processes are found through /proc: the worker is the daemon's child whose command line is
 * `… worker --pipeline eo-counter …`; the user code is the process below that worker running
 * counter.py that is not bubblewrap itself (so other tests' spouts are never touched). The kill moments come from a seeded generator (printed, for replays): each
 * round waits until the marker has moved a random 1 to 6 messages past its last value.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, startChildDaemon, tempDir, type ChildDaemon } from './harness.js';
import { Client } from '../../src/client/index.js';
import { packageRoot } from '../../src/lib/version.js';
import { mulberry32 } from '../../src/lib/prng.js';

const FIX = join(packageRoot(), 'test', 'fixtures', 'spouts');
const NAME = 'eo-counter';
const ROUNDS = 21;
const KINDS = ['user code', 'worker', 'daemon'] as const;
type Kind = (typeof KINDS)[number];

interface Proc {
  pid: number;
  ppid: number;
  argv: string[];
}

async function processes(): Promise<Proc[]> {
  const out: Proc[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(name), ppid, argv });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function isWorker(p: Proc): boolean {
  const i = p.argv.indexOf('--pipeline');
  return p.argv.includes('worker') && i !== -1 && p.argv[i + 1] === NAME;
}

/** The user code of the worker `worker`: counter.py (not bwrap itself) below that worker. */
function isUserCode(p: Proc, all: Proc[], worker: number): boolean {
  // Not bwrap itself, nor the sandbox preamble's shell (or its short-lived forks, which carry
  // the same argv until they exec mount or mkdir).
  if (!p.argv.some((a) => a.endsWith('counter.py')) || (p.argv[0] ?? '').endsWith('bwrap') || p.argv.includes('sluice-sandbox')) return false;
  const byPid = new Map(all.map((q) => [q.pid, q]));
  for (let q: Proc | undefined = p, depth = 0; q !== undefined && depth < 6; q = byPid.get(q.ppid), depth++) {
    if (q.ppid === worker) return true;
  }
  return false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


describe('spouts: exactly once across crashes', { timeout: 600_000 }, () => {
  let dataDir = '';
  let daemon: ChildDaemon | undefined;
  let client: Client | undefined;
  after(async () => {
    await client?.close();
    if (daemon !== undefined && daemon.proc.exitCode === null && daemon.proc.signalCode === null) {
      daemon.proc.kill('SIGTERM');
      await new Promise((resolve) => daemon!.proc.once('exit', resolve));
    }
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  it('loses and repeats no message when the user code, the worker or the daemon is killed at random', async (t) => {
    const seed = Number(process.env.SPOUT_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`seed ${seed} (SPOUT_SEED=${seed} replays the kill moments)`);
    const random = mulberry32(seed);
    dataDir = await tempDir('sluice-exactly-once-');
    daemon = await startChildDaemon(dataDir);
    client = new Client({ address: daemon.address });
    await client.createPipeline(JSON.stringify({
      pipeline: { name: NAME },
      transform: { cmd: ['python3', join(FIX, 'counter.py'), NAME], env: { PAD: '6000', MAX_SLEEP: '0.03', SLOW: '0.002' } },
      spout: { marker: 'mark' },
    }));

    const marker = async (): Promise<number> => {
      const c = client!;
      return Number((await c.getFileBuffer(NAME, 'marker', '/mark').catch(() => Buffer.from('0'))).toString().trim());
    };
    const reach = async (target: number, what: string): Promise<number> =>
      eventually(async () => {
        const m = await marker();
        return m >= target ? m : undefined;
      }, 90_000, what);

    const userCode = async (): Promise<number | undefined> => {
      const all = await processes();
      const worker = all.find((p) => isWorker(p) && p.ppid === daemon?.proc.pid);
      return worker === undefined ? undefined : all.find((p) => isUserCode(p, all, worker.pid))?.pid;
    };
    let last = await reach(1, 'the first message');
    let victimOfLastRound: number | undefined;
    const kills: Record<Kind, number> = { 'user code': 0, worker: 0, daemon: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const kind = KINDS[round % KINDS.length]!;
      // Each round starts once a new copy of the user code runs (it read the marker), then
      // picks a random moment: a random number of messages later.
      await eventually(async () => {
        const pid = await userCode();
        return pid !== undefined && pid !== victimOfLastRound ? pid : undefined;
      }, 60_000, `the user code started again before round ${round + 1}`);
      const now = await marker();
      if (now < last) assert.fail(`the marker went back from ${last} to ${now}: a commit that was seen is lost`);
      last = await reach(now + 1 + Math.floor(random() * 6), `progress before round ${round + 1} (${kind})`);
      victimOfLastRound = await userCode();
      const d = daemon;
      if (kind === 'daemon') {
        const workers = (await processes()).filter((p) => isWorker(p) && p.ppid === d.proc.pid).map((p) => p.pid);
        d.proc.kill('SIGKILL');
        await new Promise((resolve) => (d.proc.exitCode !== null || d.proc.signalCode !== null ? resolve(undefined) : d.proc.once('exit', resolve)));
        // The orphaned worker notices its parent is gone and stops (with its user code) before
        // the daemon comes back, so two copies of the spout never run at once.
        await eventually(async () => (workers.every((pid) => !alive(pid)) ? true : undefined), 20_000, 'the orphaned worker to stop');
        await client.close();
        daemon = await startChildDaemon(dataDir);
        client = new Client({ address: daemon.address });
      } else {
        const victim = await eventually(async () => {
          const all = await processes();
          const worker = all.find((p) => isWorker(p) && p.ppid === d.proc.pid);
          if (worker === undefined) return undefined;
          if (kind === 'worker') return worker.pid;
          return all.find((p) => isUserCode(p, all, worker.pid))?.pid;
        }, 30_000, `the ${kind} to kill`);
        process.kill(victim, 'SIGKILL');
        if (process.env.SPOUT_DEBUG === '1') t.diagnostic(`${new Date().toISOString()} round ${round + 1}: killed the ${kind} (pid ${victim}) at marker ${last}`);
      }
      kills[kind]++;
    }
    // Back on its feet after the last kill.
    last = await reach(last + 3, 'progress after the last round');
    t.diagnostic(`kills: ${JSON.stringify(kills)}; ${last} messages so far`);

    // Stop the spout (its worker exits), then read a still picture.
    await client.stopPipeline(NAME);
    const k = await marker();
    const files = await client.listFile(NAME, 'master', '/');
    const names = files.map((f) => f.path).sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
    assert.equal(names.length, k, `${names.length} data files for a marker of ${k}`);
    assert.deepEqual(names, Array.from({ length: k }, (_v, i) => `/n${i}`), 'no message is lost');
    for (const f of files) {
      const n = Number(f.path.slice(2));
      // Each message is written once: a repeat would have appended a second copy.
      assert.equal(f.sizeBytes, `${n}\n`.length + 6000 + 1, `${f.path} holds one copy`);
    }
    const sample = (await client.getFileBuffer(NAME, 'master', `/n${k - 1}`)).toString();
    assert.ok(sample.startsWith(`${k - 1}\n#`));
    // Every data commit came with its marker commit (one transaction each).
    const dataCommits = await client.listCommits(NAME, { branch: 'master' });
    const markerCommits = await client.listCommits(NAME, { branch: 'marker' });
    assert.equal(dataCommits.length, k);
    assert.equal(markerCommits.length, k);
    // Where the kills landed, from the spout's own log: archives cut mid-entry, archives that
    // could not be stored, and runs that ended otherwise.
    const seen = { refused: 0, unstored: 0, starts: 0 };
    for await (const l of client.getLogs({ pipeline: NAME })) {
      if (l.stream !== 'system') continue;
      if (process.env.SPOUT_DEBUG === '1') t.diagnostic(`${new Date(l.ts).toISOString()} ${l.worker ?? ''} ${l.message.slice(0, 120)}`);
      if (/^archive refused/.test(l.message)) seen.refused++;
      if (/^an archive could not be stored/.test(l.message)) seen.unstored++;
      if (/^starting user code/.test(l.message)) seen.starts++;
    }
    t.diagnostic(`the spout's log: ${seen.starts} starts of the user code, ${seen.refused} archives cut by a kill, ${seen.unstored} archives that could not be stored`);
    const report = await client.fsck();
    assert.deepEqual(report.errors, []);
  });
});
