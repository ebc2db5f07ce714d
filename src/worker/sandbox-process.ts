/**
 * The process plumbing shared by the sandbox drivers: spawn the sandbox tool (bwrap, unshare)
 * as the leader of its own process group, feed stdin, split stdout and stderr into lines as they
 * arrive, keep the tail of stderr, enforce the timeout and the abort signal, and settle only
 * after the process has exited and its pipes are closed.
 *
 * Killing: the tool runs user code in a new PID namespace, so when the tool dies the kernel
 * kills everything user code started. On abort or timeout, user processes (the tool's process
 * group, minus the tool) get SIGTERM first so they can clean up; after a grace period the whole
 * group gets SIGKILL, the tool included, which takes the namespace down.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { SluiceError } from '../errors/index.js';
import { STDERR_TAIL_LINES, type OutputStream, type RunRequest, type RunResult } from './user-code-driver.js';

/** Longer lines are cut into pieces of this many characters, so one runaway line cannot exhaust memory. */
export const MAX_LINE_CHARS = 64 * 1024;

export interface SandboxCommand {
  /** The sandbox tool and its arguments (user argv included). */
  program: string;
  args: string[];
  /** The tool's own environment (the user program's is passed through the tool's arguments). */
  env: Record<string, string>;
  /**
   * Recognises the tool's own diagnostic for a program that never started (missing program,
   * missing working directory), given the only line written before the tool exited with `exitCode`.
   * Returns the reason, or null when the line is the user program's.
   */
  startError: (line: string, exitCode: number | null) => string | null;
  /**
   * Bytes the tool reads from its file descriptor 3 (bwrap's `--args 3`, the unshare preamble's
   * environment): what must not appear in the host's process list, where every user can read
   * argv. The pipe is closed after them.
   */
  fd3?: string;
}

export interface SandboxProcessOptions {
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs: number;
}

/** Splits a byte stream into lines (cutting runaway ones); `flush` emits the trailing partial line, if any. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    let text = this.partial + this.decoder.write(chunk);
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      this.emitLine(text.slice(0, nl));
      text = text.slice(nl + 1);
    }
    while (text.length > MAX_LINE_CHARS) {
      this.emit(text.slice(0, MAX_LINE_CHARS));
      text = text.slice(MAX_LINE_CHARS);
    }
    this.partial = text;
  }

  flush(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest !== '') this.emitLine(rest);
  }

  private emitLine(line: string): void {
    // CRLF-writing programs (Windows-built tools, Python's logging to a tty config) end lines with \r.
    const clean = line.endsWith('\r') ? line.slice(0, -1) : line;
    for (let i = 0; i < clean.length; i += MAX_LINE_CHARS) this.emit(clean.slice(i, i + MAX_LINE_CHARS));
    if (clean.length === 0) this.emit('');
  }
}

/**
 * Sends `sig` to every process of group `pgid` except its leader (the sandbox tool). The tool
 * dies on SIGTERM and takes its PID namespace with it, which would SIGKILL user code at once;
 * sparing it gives user code the grace period to clean up, as `docker stop` does.
 */
export function signalFollowers(pgid: number, sig: NodeJS.Signals): void {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === pgid) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may itself hold spaces and parentheses): state ppid pgrp …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    try {
      process.kill(pid, sig);
    } catch {
      // gone
    }
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/** Runs one sandboxed command; see `UserCodeDriver.run` for the contract. */
export function runSandboxed(cmd: SandboxCommand, req: RunRequest, signal: AbortSignal, opts: SandboxProcessOptions): Promise<RunResult> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  const started = performance.now();
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd.program, cmd.args, {
      env: cmd.env,
      stdio: cmd.fd3 === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'],
      // Own process group (and session, so no controlling terminal is shared with the worker):
      // lets us signal user code and all its children at once.
      detached: true,
    });

    const stderrTail: string[] = [];
    let linesSeen = 0;
    let firstStderrLine: string | null = null;
    const onLine = (stream: OutputStream, line: string): void => {
      linesSeen++;
      if (stream === 'stderr') {
        if (linesSeen === 1) firstStderrLine = line;
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      }
      try {
        req.onLine(stream, line);
      } catch {
        // A throwing log sink must not take the user program down with it.
      }
    };
    const out = new LineSplitter((l) => onLine('stdout', l));
    const err = new LineSplitter((l) => onLine('stderr', l));
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));

    // Programs that never read stdin make the write fail with EPIPE; like Pachyderm (and bash),
    // a broken stdin pipe is not an error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(req.stdin);
    if (cmd.fd3 !== undefined) {
      const fd3 = child.stdio[3] as Writable | null | undefined;
      fd3?.on('error', () => undefined);
      fd3?.end(cmd.fd3);
    }

    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const terminate = (): void => {
      if (killTimer !== undefined) return;
      if (child.pid !== undefined) signalFollowers(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs);
      killTimer.unref();
    };
    const timeout =
      req.timeoutMs !== undefined && req.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            terminate();
          }, req.timeoutMs)
        : undefined;
    const onAbort = (): void => terminate();
    signal.addEventListener('abort', onAbort, { once: true });

    const cleanup = (): void => {
      if (timeout !== undefined) clearTimeout(timeout);
      if (killTimer !== undefined) clearTimeout(killTimer);
      signal.removeEventListener('abort', onAbort);
    };

    child.once('error', (e: NodeJS.ErrnoException) => {
      cleanup();
      if (e.code === 'ENOENT') {
        reject(new SluiceError('PPS_EXECUTOR_UNAVAILABLE', `cannot isolate user code: ${cmd.program} is not installed`, { cause: e }));
      } else {
        reject(new SluiceError('PPS_EXECUTOR_UNAVAILABLE', `cannot start ${cmd.program}: ${e.message}`, { cause: e }));
      }
    });
    child.once('close', (code, sig) => {
      cleanup();
      out.flush();
      err.flush();
      if (signal.aborted) {
        reject(abortReason(signal));
        return;
      }
      const only = linesSeen === 1 ? firstStderrLine : null;
      const startError = only !== null && !timedOut ? cmd.startError(only, code) : null;
      resolve({
        exitCode: code,
        signal: sig,
        stderrTail,
        durationMs: Math.round(performance.now() - started),
        timedOut,
        startError,
      });
    });
  });
}
