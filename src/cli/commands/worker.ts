/**
 * `worker --pipeline P --worker-id W`: runs one worker of a pipeline in this process: the
 * transform loop for a transform pipeline, the spout loop for a spout (the connector loop for a
 * spout with `spout.connector`). The daemon's local
 * executor starts it (with PACHD_ADDRESS and the pipeline's token in the environment); a
 * Kubernetes executor would run the same command in a pod. Like `daemon`, this is the same
 * binary in another role, so it imports the worker package (lazily).
 *
 * SIGTERM/SIGINT stop it gracefully: the running user code is killed, a transform's datum is
 * handed to another worker, a spout's archive in progress is dropped (nothing half committed).
 * A second signal leaves at once.
 *
 * Two variables from the local executor place the worker on the host: `SLUICE_WORKER_DIR`, the
 * parent of its scratch folder (`<data-dir>/workers` of the daemon that started it, so two
 * daemons on one host never share one), and `SLUICE_SANDBOX_HIDE`, host paths user code must not
 * see (the daemon's data folder), separated by `:`. Without them (a worker started by hand, a
 * pod) scratch goes under the temporary folder and nothing extra is hidden.
 *
 * Orphaned workers stop too: when the process that started this one goes away (a daemon killed
 * with -9 cannot stop its children), the worker would otherwise keep its user code running
 * against a daemon that is gone, and a restarted daemon would start a second copy of a spout.
 * So the worker stops when its parent process changes. (In a pod the parent never changes.)
 */
import { delimiter, join } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { Client, SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';

interface Options {
  pipeline?: string;
  workerId?: string;
}

/** How often the worker checks that the process that started it is still there. */
const PARENT_CHECK_MS = 500;

export function registerWorker(program: Command, ctx: CliContext): void {
  subcommand(program, ['worker'], 'Run one worker of a pipeline (started by the daemon\'s executor).')
    .requiredOption('--pipeline <name>', 'the pipeline to work for')
    .option('--worker-id <id>', 'this worker\'s name (default: <pipeline>-<pid>)')
    .action(async (opts: Options) => {
      const pipeline = opts.pipeline;
      if (pipeline === undefined || pipeline === '') throw new SluiceError('INVALID_ARGUMENT', '--pipeline is required');
      const workerId = opts.workerId ?? `${pipeline}-${process.pid}`;
      const { signal: interrupted, release } = ctx.interruptible();
      const stop = new AbortController();
      const onInterrupt = (): void => stop.abort(interrupted.reason);
      interrupted.addEventListener('abort', onInterrupt, { once: true });
      const warn = (m: string): void => ctx.err(`worker ${workerId}: ${m}\n`);
      const parent = process.ppid;
      const watch = setInterval(() => {
        if (process.ppid === parent || stop.signal.aborted) return;
        warn(`the process that started this worker (pid ${parent}) is gone; the worker stops`);
        stop.abort(new SluiceError('UNAVAILABLE', 'the parent process is gone'));
      }, PARENT_CHECK_MS);
      watch.unref();
      const client = new Client();
      try {
        const info = await client.inspectPipeline(pipeline);
        const worker = await import('../../worker/index.js');
        const env = process.env;
        const hide = (env.SLUICE_SANDBOX_HIDE ?? '').split(delimiter).filter((p) => p !== '');
        const placement = {
          driver: await worker.detectDriver({ sandbox: { hide } }),
          ...(env.SLUICE_WORKER_DIR !== undefined && env.SLUICE_WORKER_DIR !== '' ? { scratchRoot: join(env.SLUICE_WORKER_DIR, worker.safeSegment(workerId)) } : {}),
        };
        const token = ctx.config().token;
        const spout = info.spec.spout as { connector?: unknown } | undefined;
        if (info.type === 'spout' && spout?.connector !== undefined) {
          // A connector spout: no user code, this process reads the source itself.
          await worker.runConnectorWorker({ pipeline, workerId, client, signal: stop.signal, onWarning: warn });
        } else if (info.type === 'spout') {
          await worker.runSpoutWorker({
            pipeline, workerId, client, signal: stop.signal, onWarning: warn,
            daemonAddress: client.baseUrl,
            ...(token !== undefined ? { token } : {}),
            ...placement,
          });
        } else if (info.type === 'transform') {
          await worker.runTransformWorker({
            pipeline, workerId, client, signal: stop.signal, onWarning: warn,
            daemonAddress: client.baseUrl,
            ...(token !== undefined ? { token } : {}),
            ...placement,
          });
        } else {
          throw new SluiceError('NOT_IMPLEMENTED', `pipeline ${pipeline} is a ${info.type}; this worker runs transform and spout pipelines`);
        }
      } finally {
        clearInterval(watch);
        interrupted.removeEventListener('abort', onInterrupt);
        release();
        await client.close();
      }
    });
}
