/** Log lines that follow live (the SDK's `getLogs({ follow: true })` stream). */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LogLine } from '../client/browser.js';
import type { Session } from './session.js';
import { short, time } from './format.js';
import { ErrorBox } from './widgets.js';

const KEEP = 2000;

export function LogView(props: { session: Session; pipeline: string; job?: string | undefined; datum?: string | undefined }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<Error | undefined>(undefined);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    setLines([]);
    setError(undefined);
    const ac = new AbortController();
    const opts: { pipeline: string; job?: string; datum?: string; follow: true; signal: AbortSignal } = { pipeline: props.pipeline, follow: true, signal: ac.signal };
    if (props.job !== undefined) opts.job = props.job;
    if (props.datum !== undefined) opts.datum = props.datum;
    // Lines arrive in bursts; render at most every 200 ms.
    let pending: LogLine[] = [];
    const flush = setInterval(() => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      setLines((old) => [...old, ...batch].slice(-KEEP));
    }, 200);
    (async () => {
      for await (const l of props.session.client.getLogs(opts)) pending.push(l);
    })().catch((err: unknown) => {
      if (!ac.signal.aborted) setError(err as Error);
    });
    return () => {
      ac.abort();
      clearInterval(flush);
    };
  }, [props.pipeline, props.job, props.datum]);
  useEffect(() => {
    const el = box.current;
    if (el !== null) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <div>
      <ErrorBox error={error} />
      <pre class="logs" id="logs" ref={box}>
        {lines.length === 0 && <span class="muted">No log lines yet (following).</span>}
        {lines.map((l, i) => (
          <div key={i} class={`log ${l.stream}`}>
            <span class="ts">{time(l.ts)}</span> <span class="src">{l.datum !== null ? `datum ${short(l.datum)}` : l.job !== null ? `job ${short(l.job)}` : l.stream}</span> {l.message}
          </div>
        ))}
      </pre>
    </div>
  );
}
