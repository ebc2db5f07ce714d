/**
 * `worker --pipeline P --worker-id W`: runs one worker of a pipeline in this process. The
 * daemon's local executor starts it (with PACHD_ADDRESS and the pipeline's token in the
 * environment); a Kubernetes executor would run the same command in a pod. Like `daemon`, this is
 * the same binary in another role, so it imports the worker package (lazily).
 *
 * SIGTERM/SIGINT stop it: the running user code is killed, its datum is handed to another worker.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { Client, SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';

interface Options {
  pipeline?: string;
  workerId?: string;
}

export function registerWorker(program: Command, ctx: CliContext): void {
  subcommand(program, ['worker'], 'Run one worker of a pipeline (started by the daemon\'s executor).')
    .requiredOption('--pipeline <name>', 'the pipeline to work for')
    .option('--worker-id <id>', 'this worker\'s name (default: <pipeline>-<pid>)')
    .action(async (opts: Options) => {
      const pipeline = opts.pipeline;
      if (pipeline === undefined || pipeline === '') throw new SluiceError('INVALID_ARGUMENT', '--pipeline is required');
      const workerId = opts.workerId ?? `${pipeline}-${process.pid}`;
      const { signal, release } = ctx.interruptible();
      const onTerm = (): void => {
        process.kill(process.pid, 'SIGINT');
      };
      process.once('SIGTERM', onTerm);
      const client = new Client();
      try {
        const info = await client.inspectPipeline(pipeline);
        const warn = (m: string): void => ctx.err(`worker ${workerId}: ${m}\n`);
        if (info.type !== 'transform') throw new SluiceError('NOT_IMPLEMENTED', `pipeline ${pipeline} is a ${info.type}; this worker runs transform pipelines only`);
        const { runTransformWorker } = await import('../../worker/index.js');
        await runTransformWorker({ pipeline, workerId, client, signal, onWarning: warn });
      } finally {
        process.off('SIGTERM', onTerm);
        release();
        await client.close();
      }
    });
}
