/**
 * Cron inputs: one timer per cron input of every running pipeline. Each tick commits an empty
 * file named by the tick's RFC 3339 time to the cron repo's master branch (with `overwrite`, the
 * older tick files are deleted in the same commit), and that commit makes a job like any other
 * input commit. Ticks missed while the daemon was down are not replayed: the next tick comes at
 * the next scheduled time.
 */
import { CronExpressionParser } from 'cron-parser';
import type { PpsContext } from './pps-context.js';
import { parseCronSpec, visitInputs, type ValidPipelineSpec } from './spec/index.js';

export class CronService {
  private readonly slots = new Map<string, Array<{ timer?: NodeJS.Timeout; stopped: boolean }>>();

  constructor(private readonly ctx: PpsContext) {}

  /** (Re)starts the timers of a pipeline's cron inputs. */
  start(name: string, spec: ValidPipelineSpec): void {
    this.stop(name);
    const slots: Array<{ timer?: NodeJS.Timeout; stopped: boolean }> = [];
    this.slots.set(name, slots);
    if (spec.input === undefined) return;
    visitInputs(spec.input, (i) => {
      if (i.cron === undefined) return;
      const { repo, overwrite } = i.cron;
      const schedule = parseCronSpec(i.cron.spec);
      if ('error' in schedule) return;
      const slot: { timer?: NodeJS.Timeout; stopped: boolean } = { stopped: false };
      slots.push(slot);
      const arm = (): void => {
        if (slot.stopped) return;
        const now = this.ctx.now();
        const next = schedule.kind === 'every'
          ? now + schedule.everyMs - (now % schedule.everyMs)
          : CronExpressionParser.parse(schedule.expression, { currentDate: new Date(now), ...(schedule.timeZone !== undefined ? { tz: schedule.timeZone } : {}) }).next().getTime();
        slot.timer = setTimeout(() => void this.tick(repo, overwrite, new Date(next)).finally(arm), Math.max(1, next - now));
        slot.timer.unref();
      };
      arm();
    });
  }

  stop(name: string): void {
    for (const slot of this.slots.get(name) ?? []) {
      slot.stopped = true;
      clearTimeout(slot.timer);
    }
    this.slots.delete(name);
  }

  stopAll(): void {
    for (const name of [...this.slots.keys()]) this.stop(name);
  }

  /** One tick: an empty file named by the time, as one commit. */
  async tick(repo: string, overwrite: boolean, at = new Date(this.ctx.now())): Promise<void> {
    const uploads = this.ctx.pfs.uploads;
    const id = await uploads.create();
    try {
      if (overwrite) await uploads.deleteFile(id, '/');
      const name = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
      await uploads.putFile(id, `/${name}`, (async function* () {})());
      await uploads.commit(id, { repo, ref: 'master' }, 'AUTO');
    } catch {
      await uploads.abort(id).catch(() => undefined);
    }
  }
}
