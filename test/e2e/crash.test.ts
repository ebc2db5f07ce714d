/**
 * Crash safety: the daemon is killed with SIGKILL at a random moment while several writers upload
 * multi-file commits concurrently, then restarted, over 20+ rounds on one data directory. After
 * every restart: every acknowledged commit is visible with every one of its files byte-exact,
 * nothing else is visible except at most the one commit per writer that was in flight when the
 * daemon died (fully, never partly), no branch head is an open commit, and fsck finds no error.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomInt } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Client } from '../../src/client/index.js';
import { startChildDaemon, tarOf, tempDir, type ChildDaemon } from './harness.js';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20);
const WRITERS = 4;
const FILES_PER_COMMIT = 4;

/** Deterministic content for (writer, seq, file): sizes from 100 B to ~2.5 MB, so some span chunks. */
function content(w: number, seq: number, f: number): Buffer {
  const seed = createHash('sha256').update(`${w}/${seq}/${f}`).digest();
  const size = 100 + (seed.readUInt32BE(0) % (f === 0 ? 2_500_000 : 20_000));
  // AES-CTR keyed by the seed: a fast deterministic byte stream.
  const cipher = createCipheriv('aes-128-ctr', seed.subarray(0, 16), seed.subarray(16, 32));
  return cipher.update(Buffer.alloc(size));
}

function commitTar(w: number, seq: number): Promise<Buffer> {
  const files: Record<string, Buffer> = {};
  for (let f = 0; f < FILES_PER_COMMIT; f++) files[`s${seq}/f${f}`] = content(w, seq, f);
  return tarOf(files);
}

describe('crash safety under SIGKILL', () => {
  let dir = '';
  let daemon: ChildDaemon | undefined;
  after(async () => {
    daemon?.proc.kill('SIGKILL');
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged commit intact across ${ROUNDS} kill -9 rounds`, { timeout: 600_000 }, async () => {
    dir = await tempDir('sluice-crash-');
    const acked: Array<Set<number>> = Array.from({ length: WRITERS }, () => new Set<number>());
    const nextSeq = Array.from({ length: WRITERS }, () => 0);
    let killedMidCommit = 0;

    for (let round = 0; round < ROUNDS; round++) {
      daemon = await startChildDaemon(dir);
      const client = new Client({ address: daemon.address });
      if (round === 0) for (let w = 0; w < WRITERS; w++) await client.createRepo(`w${w}`);

      // Verify the state the previous kill left.
      await verify(client, acked, nextSeq);

      let stop = false;
      const inflight: Array<number | undefined> = Array.from({ length: WRITERS }, () => undefined);
      const writers = Array.from({ length: WRITERS }, async (_, w) => {
        while (!stop) {
          const seq = nextSeq[w]!;
          inflight[w] = seq;
          try {
            const tar = await commitTar(w, seq);
            const res = await client.putTar(`w${w}`, 'master', '/', tar, { description: `seq=${seq}` });
            assert.equal(res.finished, true);
            acked[w]!.add(seq);
            nextSeq[w] = seq + 1;
          } catch {
            // The daemon died under us: this seq may or may not have landed.
            nextSeq[w] = seq + 1;
            return;
          }
        }
      });
      // Let some commits land, then kill at a random instant.
      await new Promise((r) => setTimeout(r, randomInt(150, 900)));
      daemon.proc.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      if (inflight.some((s, w) => s !== undefined && !acked[w]!.has(s))) killedMidCommit++;
      await new Promise<void>((r) => (daemon!.proc.exitCode !== null || daemon!.proc.signalCode !== null ? r() : daemon!.proc.once('exit', () => r())));
      await client.close().catch(() => undefined);
    }

    daemon = await startChildDaemon(dir);
    const client = new Client({ address: daemon.address });
    const total = await verify(client, acked, nextSeq);
    const report = await client.fsck();
    assert.deepEqual(report.errors, [], 'fsck finds no corruption');
    assert.ok(total > ROUNDS, `commits landed (${total})`);
    assert.ok(killedMidCommit > 0, 'at least one kill landed while a commit was in flight');
    await client.close();
    daemon.proc.kill('SIGTERM');
  });
});

/** Checks every writer's repo; returns how many commits are visible in all. */
async function verify(client: Client, acked: Array<Set<number>>, nextSeq: number[]): Promise<number> {
  let total = 0;
  for (let w = 0; w < acked.length; w++) {
    const repo = `w${w}`;
    const branch = await client.inspectBranch(repo, 'master');
    if (branch.head === null) {
      assert.equal(acked[w]!.size, 0, `${repo} lost every commit`);
      continue;
    }
    const head = await client.inspectCommit(repo, 'master');
    assert.notEqual(head.finished, null, `${repo}: the branch head is a finished commit`);
    const commits = await client.listCommits(repo, { branch: 'master' });
    total += commits.length;
    const visible = new Set(commits.map((c) => Number(/^seq=(\d+)$/.exec(c.description)?.[1] ?? -1)));
    for (const s of acked[w]!) assert.ok(visible.has(s), `${repo}: acknowledged seq ${s} is visible`);
    for (const s of visible) {
      assert.ok(s >= 0 && s < nextSeq[w]!, `${repo}: seq ${s} was attempted`);
      if (!acked[w]!.has(s)) acked[w]!.add(s); // landed but its reply was lost; it must stay from now on
    }
    // Every visible commit holds all of its files, byte-exact (spot-check the largest file of each).
    const files = await client.globFile(repo, 'master', '/*/*');
    const names = new Set(files.map((f) => f.path));
    for (const s of visible) {
      for (let f = 0; f < FILES_PER_COMMIT; f++) assert.ok(names.has(`/s${s}/f${f}`), `${repo}: /s${s}/f${f} is present`);
    }
    assert.equal(names.size, visible.size * FILES_PER_COMMIT, `${repo}: no files from unfinished commits`);
    const sample = [...visible].slice(-3);
    for (const s of sample) {
      const got = await client.getFileBuffer(repo, 'master', `/s${s}/f0`);
      assert.equal(Buffer.compare(got, content(w, s, 0)), 0, `${repo}: /s${s}/f0 is byte-exact`);
    }
  }
  return total;
}
