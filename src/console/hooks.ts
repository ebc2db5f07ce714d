/** Data hooks shared by the pages: a one-shot load and a poll that stops when the page goes. */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Loads again now. */
  reload(): void;
}

/**
 * Calls `fn` now and then every `everyMs` (0: once), keeping the last answer. A failed call
 * keeps the previous data and shows the error; the next success clears it.
 */
export function usePoll<T>(fn: (signal: AbortSignal) => Promise<T>, everyMs: number, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    setData(undefined);
    setError(undefined);
  }, deps);
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const v = await fnRef.current(ac.signal);
        if (ac.signal.aborted) return;
        setData(v);
        setError(undefined);
      } catch (err) {
        if (ac.signal.aborted) return;
        setError(err instanceof Error ? err : new Error(String(err)));
      }
      if (everyMs > 0 && !ac.signal.aborted) timer = setTimeout(() => void run(), everyMs);
    };
    void run();
    return () => {
      ac.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [...deps, tick, everyMs]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

/** The current time, re-read every `ms` (for "12 s ago" labels that age on screen). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
