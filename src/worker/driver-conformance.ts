/**
 * Test support, not library code: the behaviour every sandboxing `UserCodeDriver` must show,
 * as one suite that each driver's test file runs against the real tool (as lakeFS runs one
 * conformance suite per KV driver). A driver that cannot start a sandbox on this machine is
 * skipped with the reason, unless `REQUIRE_SERVICES=1` (CI), where that is a failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeDriver } from './detect-driver.js';
import type { OutputStream, RunRequest, RunResult, SandboxOptions, UserCodeDriver } from './user-code-driver.js';

const HOST_PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';

interface Captured {
  lines: Array<[OutputStream, string]>;
  stdout(): string[];
  stderr(): string[];
}

function capture(): Captured & { onLine: RunRequest['onLine'] } {
  const lines: Array<[OutputStream, string]> = [];
  return {
    lines,
    onLine: (s, l) => lines.push([s, l]),
    stdout: () => lines.filter(([s]) => s === 'stdout').map(([, l]) => l),
    stderr: () => lines.filter(([s]) => s === 'stderr').map(([, l]) => l),
  };
}

/** Processes whose command line contains `marker` (the host sees sandboxed processes too). */
async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').join(' ');
      if (cmdline.includes(marker)) found.push(Number(name));
    } catch {
      // exited
    }
  }
  return found;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function driverConformance(name: string, make: (opts: SandboxOptions) => UserCodeDriver): void {
  describe(`${name} driver`, () => {
    let driver: UserCodeDriver;
    let unavailable: string | null = null;
    let root: string;
    let pfs: string;
    /** Folders standing for the daemon's data folder, which the driver is told to hide: under /tmp and elsewhere. */
    let hidden: string;
    let hiddenElsewhere: string;

    before(async () => {
      root = await mkdtemp(join(tmpdir(), `sluice-${name}-test-`));
      hidden = join(root, 'data');
      await mkdir(join(hidden, 'objects'), { recursive: true });
      await writeFile(join(hidden, 'meta.db'), 'the daemon database\n');
      hiddenElsewhere = await mkdtemp(`/var/tmp/sluice-${name}-hidden-`);
      await writeFile(join(hiddenElsewhere, 'meta.db'), 'the daemon database\n');
      driver = make({ hide: [hidden, hiddenElsewhere] });
      const probe = await probeDriver(driver);
      if (!probe.ok) {
        if (process.env.REQUIRE_SERVICES === '1') throw new Error(`${name} cannot run a sandbox here: ${probe.detail}`);
        unavailable = probe.detail;
      }
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
      await rm(hiddenElsewhere, { recursive: true, force: true });
    });

    const run = async (t: { skip: (msg: string) => void }, req: Partial<RunRequest> & { cmd: string[] }, signal = new AbortController().signal): Promise<(RunResult & Captured) | undefined> => {
      if (unavailable !== null) {
        t.skip(`${name} is not usable here: ${unavailable}`);
        return undefined;
      }
      const c = capture();
      const res = await driver.run({ stdin: '', env: { PATH: HOST_PATH }, pfsDir: pfs, onLine: c.onLine, timeoutMs: 20_000, ...req }, signal);
      return { ...res, ...c };
    };

    const freshPfs = async (): Promise<void> => {
      pfs = await mkdtemp(join(root, 'pfs-'));
      await mkdir(join(pfs, 'out'));
      await mkdir(join(pfs, 'in'));
      await writeFile(join(pfs, 'in', 'a.txt'), 'input bytes\n');
    };

    it('shows the scratch folder as /pfs and keeps the host root read-only', async (t) => {
      await freshPfs();
      const r = await run(t, { cmd: ['sh', '-c', 'cat /pfs/in/a.txt; ls /pfs; echo made > /pfs/out/o.txt; touch /etc/sluice-must-not-exist; echo "touch=$?"; touch /sluice-top; echo "top=$?"'] });
      if (r === undefined) return;
      assert.equal(r.exitCode, 0, r.stderr().join('\n'));
      assert.deepEqual(r.stdout(), ['input bytes', 'in', 'out', 'touch=1', 'top=1']);
      assert.match(r.stderr().join('\n'), /Read-only file system/);
      assert.equal(existsSync('/etc/sluice-must-not-exist'), false);
      assert.equal(await readFile(join(pfs, 'out', 'o.txt'), 'utf8'), 'made\n');
    });

    it("shows the host's /tmp read-only and keeps what user code writes there its own", async (t) => {
      await freshPfs();
      // Where users keep throwaway scripts: the host's /tmp itself, whatever tmpdir() says.
      const host = await mkdtemp('/tmp/sluice-host-tmp-');
      try {
        await writeFile(join(host, 'proc.sh'), 'echo "script ran"\n');
        const r = await run(t, {
          cmd: ['sh', '-c', `sh ${host}/proc.sh && echo changed > ${host}/proc.sh && cat ${host}/proc.sh && mkdir -p ${host}/files /tmp/files-${process.pid} && echo f > ${host}/files/a && ls ${host}/files && ls -ld /tmp`],
        });
        if (r === undefined) return;
        assert.equal(r.exitCode, 0, r.stderr().join('\n'));
        assert.deepEqual(r.stdout().slice(0, 3), ['script ran', 'changed', 'a']);
        assert.match(r.stdout()[3] ?? '', /^drwxrwxrwt/);
        // The host's /tmp is as it was.
        assert.equal(await readFile(join(host, 'proc.sh'), 'utf8'), 'echo "script ran"\n');
        assert.equal(existsSync(join(host, 'files')), false);
        assert.equal(existsSync(`/tmp/files-${process.pid}`), false);
        // And each run starts from the host's /tmp again.
        const again = await run(t, { cmd: ['sh', '-c', `cat ${host}/proc.sh; ls ${host}`] });
        assert.deepEqual(again?.stdout(), ['echo "script ran"', 'proc.sh']);
      } finally {
        await rm(host, { recursive: true, force: true });
      }
    });

    it('hides the paths it is told to hide (the daemon data folder), even under /tmp', async (t) => {
      await freshPfs();
      for (const dir of [hidden, hiddenElsewhere]) {
        const r = await run(t, { cmd: ['sh', '-c', `ls -A ${dir}; echo "count=$(ls -A ${dir} | wc -l)"; cat ${dir}/meta.db; echo "cat=$?"; touch ${dir}/x; echo "touch=$?"`] });
        if (r === undefined) return;
        assert.deepEqual(r.stdout(), ['count=0', 'cat=1', 'touch=1'], dir);
        assert.equal(existsSync(join(dir, 'x')), false);
      }
      // The scratch folder may live under the hidden one: /pfs still shows it.
      const inside = await mkdtemp(join(hidden, 'pfs-'));
      await mkdir(join(inside, 'out'));
      const r2 = await run(t, { cmd: ['sh', '-c', 'echo ok > /pfs/out/o; ls /pfs'], pfsDir: inside });
      assert.equal(r2?.exitCode, 0, r2?.stderr().join('\n'));
      assert.equal(await readFile(join(inside, 'out', 'o'), 'utf8'), 'ok\n');
    });

    it("keeps the program's environment (its token) out of the host's process list", async (t) => {
      await freshPfs();
      if (unavailable !== null) {
        t.skip(`${name} is not usable here: ${unavailable}`);
        return;
      }
      const secret = `sluice-secret-${process.pid}-${name}-0123456789abcdef`;
      let seen: number[] | undefined;
      const res = await driver.run(
        {
          cmd: ['sh', '-c', 'echo "token=$PACH_TOKEN"; while [ ! -e /pfs/go ]; do sleep 0.01; done'],
          stdin: '',
          env: { PATH: HOST_PATH, PACH_TOKEN: secret },
          pfsDir: pfs,
          timeoutMs: 20_000,
          onLine: (_s, l) => {
            if (!l.startsWith('token=')) return;
            // User code is running: every process of the sandbox exists now.
            void processesWith(secret).then(async (pids) => {
              seen = pids;
              await writeFile(join(pfs, 'go'), '');
            });
          },
        },
        new AbortController().signal,
      );
      assert.equal(res.exitCode, 0);
      assert.deepEqual(seen, [], 'no process shows the token in its argv');
    });

    it('delivers stdin and exactly the environment it is given', async (t) => {
      await freshPfs();
      process.env.SLUICE_WORKER_ONLY = 'leak';
      try {
        // Pachyderm's usual shape: `cmd: ["sh"]` with the script in `stdin`.
        const r = await run(t, {
          cmd: ['sh'],
          stdin: 'echo "FOO=$FOO"\necho "leak=${SLUICE_WORKER_ONLY:-none}"\n',
          env: { PATH: HOST_PATH, FOO: 'bar baz' },
        });
        if (r === undefined) return;
        assert.equal(r.exitCode, 0, r.stderr().join('\n'));
        assert.deepEqual(r.stdout(), ['FOO=bar baz', 'leak=none']);
        const cat = await run(t, { cmd: ['cat'], stdin: 'line 1\nline 2\n' });
        assert.deepEqual(cat?.stdout(), ['line 1', 'line 2']);
      } finally {
        delete process.env.SLUICE_WORKER_ONLY;
      }
    });

    it('starts in the working directory it is given, and in / by default', async (t) => {
      await freshPfs();
      const r1 = await run(t, { cmd: ['pwd'], workingDir: '/pfs/in' });
      if (r1 === undefined) return;
      assert.deepEqual(r1.stdout(), ['/pfs/in']);
      const r2 = await run(t, { cmd: ['pwd'] });
      assert.deepEqual(r2?.stdout(), ['/']);
      const r3 = await run(t, { cmd: ['pwd'], workingDir: '/no/such/dir' });
      assert.equal(r3?.startError, 'working directory "/no/such/dir" does not exist');
    });

    it('reports the exit code and the last 20 lines of stderr', async (t) => {
      await freshPfs();
      const r = await run(t, { cmd: ['sh', '-c', 'i=1; while [ $i -le 30 ]; do echo "e$i" >&2; i=$((i+1)); done; exit 7'] });
      if (r === undefined) return;
      assert.equal(r.exitCode, 7);
      assert.equal(r.signal, null);
      assert.equal(r.startError, null);
      assert.equal(r.stderrTail.length, 20);
      assert.equal(r.stderrTail[0], 'e11');
      assert.equal(r.stderrTail[19], 'e30');
      assert.equal(r.stderr().length, 30);
    });

    it('names a user program that does not exist', async (t) => {
      await freshPfs();
      const r = await run(t, { cmd: ['no-such-program-sluice', '--flag'] });
      if (r === undefined) return;
      assert.equal(r.startError, 'user program "no-such-program-sluice" not found');
      assert.notEqual(r.exitCode, 0);
    });

    it('names a user program that is not executable', async (t) => {
      await freshPfs();
      const r = await run(t, { cmd: ['/pfs/in/a.txt'] });
      if (r === undefined) return;
      assert.equal(r.startError, 'user program "/pfs/in/a.txt" is not executable');
    });

    it('streams lines while the program runs and flushes a trailing partial line', async (t) => {
      await freshPfs();
      // The program waits for a file the test creates only when it has seen the first line,
      // so this finishes only if lines arrive while the program is still running.
      const go = join(pfs, 'go');
      if (unavailable !== null) {
        t.skip(`${name} is not usable here: ${unavailable}`);
        return;
      }
      const lines: string[] = [];
      const res = await driver.run(
        {
          cmd: ['sh', '-c', 'echo first; while [ ! -e /pfs/go ]; do sleep 0.01; done; printf "second\\r\\nno newline"'],
          stdin: '',
          env: { PATH: HOST_PATH },
          pfsDir: pfs,
          timeoutMs: 20_000,
          onLine: (_s, l) => {
            lines.push(l);
            if (l === 'first') void writeFile(go, '');
          },
        },
        new AbortController().signal,
      );
      assert.equal(res.timedOut, false);
      assert.equal(res.exitCode, 0);
      assert.deepEqual(lines, ['first', 'second', 'no newline']);
    });

    it('kills the whole process tree on abort, SIGTERM first, and rejects', async (t) => {
      await freshPfs();
      if (unavailable !== null) {
        t.skip(`${name} is not usable here: ${unavailable}`);
        return;
      }
      const marker = String(900_000 + (process.pid % 90_000));
      const ac = new AbortController();
      const lines: string[] = [];
      const running = driver.run(
        {
          cmd: ['sh', '-c', `trap 'echo got-term; exit 5' TERM; sleep ${marker} & sleep ${marker} & echo started; wait`],
          stdin: '',
          env: { PATH: HOST_PATH },
          pfsDir: pfs,
          onLine: (_s, l) => {
            lines.push(l);
            if (l === 'started') ac.abort(new Error('stop'));
          },
        },
        ac.signal,
      );
      await assert.rejects(running, /stop/);
      assert.ok(lines.includes('got-term'), `the shell saw SIGTERM before being killed: ${lines.join(', ')}`);
      await until('the sandboxed sleeps to be gone', async () => (await processesWith(`sleep ${marker}`)).length === 0);
    });

    it('kills a program that outlives its timeout', async (t) => {
      await freshPfs();
      const r = await run(t, { cmd: ['sleep', '1000'], timeoutMs: 300 });
      if (r === undefined) return;
      assert.equal(r.timedOut, true);
      assert.notEqual(r.exitCode, 0);
    });

    it('rejects at once when the signal is already aborted', async (t) => {
      await freshPfs();
      if (unavailable !== null) {
        t.skip(`${name} is not usable here: ${unavailable}`);
        return;
      }
      const ac = new AbortController();
      ac.abort(new Error('already'));
      await assert.rejects(driver.run({ cmd: ['true'], stdin: '', env: { PATH: HOST_PATH }, pfsDir: pfs, onLine: () => undefined }, ac.signal), /already/);
    });
  });
}
