/**
 * What every command gets: the SDK client (created on first use, closed by main), the output
 * streams, the clock, and a way to be told about Ctrl-C. Commands never touch `process.exit`,
 * `process.stdout` or signals directly; main.ts builds one `CliContext` per run.
 */
import type { Readable, Writable } from 'node:stream';
import { Client, resolveConfig, type ResolvedConfig } from '../client/index.js';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
}

/** Thrown by a command that stopped because of SIGINT/SIGTERM; main exits 130. */
export class InterruptedError extends Error {
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'InterruptedError';
  }
}

export interface CliContextOptions {
  io: CliIo;
  env?: NodeJS.ProcessEnv;
  /** Leaves the process at once (a second Ctrl-C). Provided by main, the only place that exits. */
  exitNow: (code: number) => void;
  now?: () => number;
}

export class CliContext {
  readonly io: CliIo;
  readonly env: NodeJS.ProcessEnv;
  private readonly exitNow: (code: number) => void;
  private readonly clock: () => number;
  private sdk: Client | undefined;

  constructor(opts: CliContextOptions) {
    this.io = opts.io;
    this.env = opts.env ?? process.env;
    this.exitNow = opts.exitNow;
    this.clock = opts.now ?? Date.now;
  }

  /** The SDK client, connected as pachctl would (PACHD_ADDRESS, PACH_CONFIG, default). */
  client(): Client {
    this.sdk ??= new Client();
    return this.sdk;
  }

  /** The resolved daemon address and config (for commands that print or edit it). */
  config(): ResolvedConfig {
    return resolveConfig(this.env);
  }

  now(): number {
    return this.clock();
  }

  /** Writes text to stdout. */
  out(text: string): void {
    this.io.stdout.write(text);
  }

  /** Writes text to stderr. */
  err(text: string): void {
    this.io.stderr.write(text);
  }

  /** Copies a byte stream to stdout, honouring backpressure. */
  async pipeToStdout(src: AsyncIterable<Uint8Array>): Promise<void> {
    const out = this.io.stdout;
    for await (const chunk of src) {
      if (!out.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          const onDrain = (): void => {
            out.off('error', onError);
            resolve();
          };
          const onError = (e: Error): void => {
            out.off('drain', onDrain);
            reject(e);
          };
          out.once('drain', onDrain);
          out.once('error', onError);
        });
      }
    }
  }

  /**
   * Returns a signal that aborts on the first SIGINT/SIGTERM; a second one leaves at once
   * (exit 130). Call the returned `release` when the interruptible part is over.
   */
  interruptible(): { signal: AbortSignal; release: () => void } {
    const ac = new AbortController();
    const onSignal = (sig: NodeJS.Signals): void => {
      if (ac.signal.aborted) {
        this.exitNow(sig === 'SIGTERM' ? 143 : 130);
        return;
      }
      ac.abort(new InterruptedError(`interrupted by ${sig}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return {
      signal: ac.signal,
      release: () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      },
    };
  }

  /** Closes the SDK's pooled connections. */
  async close(): Promise<void> {
    const c = this.sdk;
    this.sdk = undefined;
    if (c !== undefined) await c.close();
  }
}
