/**
 * File previews: text, JSON (pretty-printed), CSV/TSV (as a table), images; and download of any
 * file. The bytes come from the SDK (`getFileBytes`), so a token-guarded daemon works too.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { FileInfo } from '../client/browser.js';
import type { Session } from './session.js';
import { bytes } from './format.js';
import { ErrorBox } from './widgets.js';

/** Larger files are not previewed (download still works). */
export const PREVIEW_LIMIT = 8 * 1024 * 1024;

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml', bmp: 'image/bmp', ico: 'image/x-icon',
};

export type PreviewKind = 'image' | 'json' | 'csv' | 'text' | 'binary';

function ext(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** Decodes UTF-8 text, or undefined for bytes that are not text (invalid UTF-8 or NULs). */
export function asText(b: Uint8Array): string | undefined {
  if (b.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return undefined;
  }
}

export function previewKind(path: string, b: Uint8Array): PreviewKind {
  const e = ext(path);
  if (IMAGE_TYPES[e] !== undefined) return 'image';
  const text = asText(b);
  if (text === undefined) return 'binary';
  if (e === 'json') {
    try {
      JSON.parse(text);
      return 'json';
    } catch {
      return 'text';
    }
  }
  if (e === 'csv' || e === 'tsv') return 'csv';
  return 'text';
}

/** RFC 4180 CSV (quotes, doubled quotes, newlines in quotes); TSV with `sep = '\t'`. */
export function parseCsv(text: string, sep = ','): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === sep) {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function save(name: string, data: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([data as BlobPart]));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function DownloadButton(props: { session: Session; repo: string; commit: string; path: string }) {
  const [err, setErr] = useState<Error | undefined>(undefined);
  return (
    <>
      <button
        class="download"
        onClick={() => {
          setErr(undefined);
          props.session.client
            .getFileBytes(props.repo, props.commit, props.path)
            .then((b) => save(props.path.slice(props.path.lastIndexOf('/') + 1) || 'file', b))
            .catch((e: unknown) => setErr(e as Error));
        }}
      >
        download
      </button>
      <ErrorBox error={err} />
    </>
  );
}

export function Preview(props: { session: Session; repo: string; commit: string; file: FileInfo }) {
  const { file } = props;
  const [data, setData] = useState<Uint8Array | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const tooBig = file.sizeBytes > PREVIEW_LIMIT;
  useEffect(() => {
    setData(undefined);
    setError(undefined);
    if (tooBig) return;
    let live = true;
    props.session.client
      .getFileBytes(props.repo, props.commit, file.path)
      .then((b) => live && setData(b))
      .catch((e: unknown) => live && setError(e as Error));
    return () => {
      live = false;
    };
  }, [props.repo, props.commit, file.path]);
  return (
    <div class="preview" id="preview" data-path={file.path}>
      <div class="preview-head">
        <b>{file.path}</b> <span class="muted">{bytes(file.sizeBytes)}</span>{' '}
        <DownloadButton session={props.session} repo={props.repo} commit={props.commit} path={file.path} />
      </div>
      <ErrorBox error={error} />
      {tooBig && <p class="muted">Larger than {bytes(PREVIEW_LIMIT)}: not previewed; download it instead.</p>}
      {data !== undefined && <Body path={file.path} data={data} />}
    </div>
  );
}

function Body(props: { path: string; data: Uint8Array }) {
  const kind = useMemo(() => previewKind(props.path, props.data), [props.path, props.data]);
  const imageUrl = useMemo(() => (kind === 'image' ? URL.createObjectURL(new Blob([props.data as BlobPart], { type: IMAGE_TYPES[ext(props.path)] })) : undefined), [kind, props.data]);
  useEffect(() => () => {
    if (imageUrl !== undefined) URL.revokeObjectURL(imageUrl);
  }, [imageUrl]);
  if (kind === 'image') return <img class="preview-image" src={imageUrl} alt={props.path} data-kind="image" />;
  if (kind === 'binary') return <p class="muted" data-kind="binary">Binary file ({bytes(props.data.length)}): no preview.</p>;
  const text = asText(props.data) ?? '';
  if (kind === 'json') return <pre class="preview-text" data-kind="json">{JSON.stringify(JSON.parse(text), null, 2)}</pre>;
  if (kind === 'csv') {
    const rows = parseCsv(text, ext(props.path) === 'tsv' ? '\t' : ',');
    const [header, ...body] = rows;
    const shown = body.slice(0, 1000);
    return (
      <div class="csv-wrap">
        <table class="csv" data-kind="csv">
          <thead>
            <tr>{(header ?? []).map((h, i) => <th key={i}>{h}</th>)}</tr>
          </thead>
          <tbody>
            {shown.map((r, i) => (
              <tr key={i}>{r.map((c, j) => <td key={j}>{c}</td>)}</tr>
            ))}
          </tbody>
        </table>
        {body.length > shown.length && <p class="muted">{body.length - shown.length} more rows not shown.</p>}
      </div>
    );
  }
  return <pre class="preview-text" data-kind="text">{text}</pre>;
}
