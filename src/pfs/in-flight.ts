/**
 * What this process is writing right now, as the garbage collector needs to know it: every
 * PackSession from its start (before its first look-up in the chunk index) until the transaction
 * that names its chunks has committed or it was dropped, and the pack it writes.
 *
 * The collector leaves these packs alone (sealed but not yet recorded), and before its second
 * mark it waits (bounded) for the sessions that began before it condemned chunks, so that they
 * rarely find a chunk they counted on gone. Correctness does not rest on that wait: a session
 * re-checks, in its own recording transaction, every chunk it did not write (PackSession).
 */
export interface InFlightToken {
  readonly seq: number;
  pack: string | undefined;
}

export class InFlight {
  private seq = 0;
  private readonly live = new Set<InFlightToken>();
  private readonly waiters = new Set<() => void>();

  begin(): InFlightToken {
    const token: InFlightToken = { seq: ++this.seq, pack: undefined };
    this.live.add(token);
    return token;
  }

  end(token: InFlightToken): void {
    if (!this.live.delete(token)) return;
    for (const w of [...this.waiters]) w();
  }

  /** Sequence number of the next session: sessions with a lower one began before now. */
  mark(): number {
    return this.seq + 1;
  }

  /** Pack ids that sessions of this process are writing or have sealed but not yet recorded. */
  packIds(): Set<string> {
    const out = new Set<string>();
    for (const t of this.live) if (t.pack !== undefined) out.add(t.pack);
    return out;
  }

  /** Resolves when every session that began before `mark` has ended, or after `timeoutMs`. */
  async drained(mark: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const pending = (): boolean => [...this.live].some((t) => t.seq < mark);
    if (!pending()) return true;
    return new Promise<boolean>((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const check = (): void => {
        if (!pending()) finish(true);
      };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(check);
      signal?.addEventListener('abort', onAbort);
    });
  }
}
