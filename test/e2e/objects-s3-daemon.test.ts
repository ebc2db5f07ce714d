/**
 * `sluice daemon --objects s3://…` as users run it: a child process configured through the AWS_*
 * environment, against s3rver started here. Bad settings are refused at start with a message that
 * names them; kill -9 during a multipart upload leaves every acknowledged commit intact and
 * nothing half-written visible (the crash rule on S3); `sluice gc` works through the CLI.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/index.js';
import { runCli, startChildDaemon, tempDir } from './harness.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';

describe('sluice daemon --objects', () => {
  let s3: TestS3Server;
  let dataDir: string;
  before(async () => {
    s3 = await startS3Server();
    dataDir = await tempDir('sluice-s3-daemon-');
  });
  after(async () => {
    await s3.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a bad object store or gc setting at start, naming it', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--objects', 'gs://bucket/x'], /unknown object store "gs:\/\/bucket\/x"/],
      [['--objects', 's3://UPPER/x'], /invalid bucket name "UPPER"/],
      [['--objects', 's3://good-bucket/x?colour=red'], /unknown setting "colour"/],
      [['--gc-interval', 'often'], /invalid duration "often" \(from --gc-interval\)/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['daemon', '--data-dir', dataDir, '--port', '0', ...args], { ...process.env, ...s3.env });
      assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
    }
  });

  it('stops at start with UNAVAILABLE when the bucket does not exist', async () => {
    const r = await runCli(['daemon', '--data-dir', dataDir, '--port', '0', '--objects', 's3://missing-bucket/p/'], { ...process.env, ...s3.env });
    assert.equal(r.code, 6, r.err);
    assert.match(r.err, /s3:\/\/missing-bucket\/p\//);
  });

  it('keeps every acknowledged commit and shows nothing half-written after kill -9 mid-upload', async () => {
    const url = s3.freshUrl('crash');
    const env = { ...s3.env };
    let d = await startChildDaemon(dataDir, 20_000, { args: ['--objects', url], env });
    let c = new Client({ address: d.address });
    await c.createRepo('r');
    const acked = new Map<string, Buffer>();
    for (let i = 0; i < 3; i++) {
      const b = randomBytes(2_000_000 + i);
      await c.putFile('r', 'master', `/ok${i}`, b);
      acked.set(`/ok${i}`, b);
    }
    // A 64 MB body sent slowly: several multipart parts go up before the kill.
    const big = randomBytes(64 * 1024 * 1024);
    let sent = 0;
    const slow = (async function* () {
      for (let at = 0; at < big.length; at += 1024 * 1024) {
        sent = at;
        yield big.subarray(at, at + 1024 * 1024);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const put = c.putFile('r', 'master', '/big', slow).then(() => 'acked', () => 'failed');
    while (sent < 30 * 1024 * 1024) await new Promise((r) => setTimeout(r, 10));
    d.proc.kill('SIGKILL');
    await new Promise((r) => d.proc.once('exit', r));
    assert.equal(await put, 'failed', 'the cut-off upload was not acknowledged');
    await c.close();

    d = await startChildDaemon(dataDir, 20_000, { args: ['--objects', url], env });
    c = new Client({ address: d.address });
    try {
      const report = await c.fsck();
      assert.deepEqual(report.errors, []);
      for (const [path, b] of acked) assert.ok((await c.getFileBuffer('r', 'master', path)).equals(b), `${path} is intact`);
      assert.deepEqual((await c.listFile('r', 'master')).map((f) => f.path).sort(), ['/ok0', '/ok1', '/ok2']);
      const gc = await runCli(['gc'], { ...process.env, PACHD_ADDRESS: d.address });
      assert.equal(gc.code, 0, gc.err);
      assert.match(gc.out, /^freed .*chunks live/m);
    } finally {
      await c.close();
      d.proc.kill('SIGTERM');
      await new Promise((r) => d.proc.once('exit', r));
    }
  });
});
