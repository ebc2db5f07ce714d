/** Small shared pieces: error box, state badge, progress bar. */
import type { ComponentChildren } from 'preact';
import type { DatumCounts } from '../client/browser.js';

export function ErrorBox(props: { error: Error | undefined }) {
  if (props.error === undefined) return null;
  const code = (props.error as { code?: string }).code;
  return (
    <div class="error" role="alert">
      {code !== undefined && <b>{code}: </b>}
      {props.error.message}
    </div>
  );
}

export function Badge(props: { state: string; title?: string }) {
  return (
    <span class={`badge st-${props.state}`} title={props.title}>
      {props.state}
    </span>
  );
}

export function Section(props: { title: string; children: ComponentChildren; right?: ComponentChildren; id?: string }) {
  return (
    <section class="card" id={props.id}>
      <h2>
        {props.title}
        {props.right !== undefined && <span class="right">{props.right}</span>}
      </h2>
      {props.children}
    </section>
  );
}

/** Datums done (processed, skipped, failed) out of the total, as one stacked bar. */
export function Progress(props: { d: DatumCounts }) {
  const { total, processed, skipped, failed } = props.d;
  const pct = (n: number): string => `${total === 0 ? 0 : (100 * n) / total}%`;
  return (
    <div class="progress" title={`processed ${processed}, skipped ${skipped}, failed ${failed}, total ${total}`}>
      <div class="bar">
        <span class="p" style={{ width: pct(processed) }} />
        <span class="s" style={{ width: pct(skipped) }} />
        <span class="f" style={{ width: pct(failed) }} />
      </div>
      <span class="nums">
        {processed}+{skipped}s{failed > 0 ? `+${failed}f` : ''}/{total}
      </span>
    </div>
  );
}
