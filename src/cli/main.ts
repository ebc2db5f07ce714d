/**
 * The CLI entry point (`sluice` and `pachctl`, via bin/sluice.js): builds the program, runs it,
 * and turns the outcome into an exit code. This is the only place in the codebase that calls
 * `process.exit`.
 *
 * - success: 0;
 * - a `SluiceError` (from the daemon via the SDK, or from argument checks): `error: <message>`
 *   on stderr, exit with the code its category decides (2 invalid, 4 not found, ...);
 * - a usage error found by commander (unknown command, missing argument, bad option): commander
 *   has printed `error: <message>`; exit 2 (help and `--help`: 0);
 * - interrupted by Ctrl-C: 130; anything else: `error: <message>`, exit 1.
 */
import { CommanderError } from 'commander';
import { isSluiceError } from '../client/index.js';
import { CliContext, InterruptedError } from './context.js';
import { buildProgram, programName } from './program.js';

const USAGE_EXIT = 2;

function exit(code: number): never {
  process.exit(code);
}

/** Waits until stdout has handed everything written so far to the OS. */
function drainStdout(): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.writableLength === 0) resolve();
    else process.stdout.write('', () => resolve());
  });
}

function codeFor(err: unknown): { code: number; message?: string } {
  if (err instanceof CommanderError) {
    // Commander has already printed its message (or the help text).
    return { code: err.exitCode === 0 ? 0 : USAGE_EXIT };
  }
  if (isSluiceError(err)) return { code: err.exitCode, message: err.message };
  if (err instanceof InterruptedError) return { code: 130, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 1, message };
}

async function main(): Promise<void> {
  // A closed pipe (`sluice get file ... | head`) is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') exit(0);
    process.stderr.write(`error: ${err.message}\n`);
    exit(1);
  });
  const ctx = new CliContext({
    io: { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
    exitNow: (code) => exit(code),
  });
  const program = buildProgram(ctx, programName(process.argv[1], process.env));
  let code = 0;
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const r = codeFor(err);
    code = r.code;
    if (r.message !== undefined) process.stderr.write(`error: ${r.message}\n`);
  }
  await ctx.close().catch(() => undefined);
  await drainStdout();
  exit(code);
}

void main();
