/**
 * How a batch of messages becomes files of a commit:
 * - `files` (the default): one file per message at `/<id>` holding the body. A message seen
 *   again under the same id (a redelivery) replaces its file with the same bytes;
 * - `jsonl`: one file per UTC day of the messages' times (`/2026-12-03.jsonl`), each batch
 *   appending one line per message: `{"id", "time", "headers", "body"}`, with
 *   `"encoding": "base64"` and the body in base64 when it is not valid UTF-8.
 */
import type { ConnectorMessage } from './connector-source.js';

export type BatchFormat = 'files' | 'jsonl';

export interface LaidOutFile {
  path: string;
  data: Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bodyFields(body: Buffer): { body: string; encoding?: 'base64' } {
  try {
    return { body: utf8.decode(body) };
  } catch {
    return { body: body.toString('base64'), encoding: 'base64' };
  }
}

/** The files of one batch, in message order (jsonl: days in order of first appearance). */
export function layOut(messages: readonly ConnectorMessage[], format: BatchFormat): LaidOutFile[] {
  if (format === 'files') return messages.map((m) => ({ path: `/${m.id}`, data: m.body }));
  const days = new Map<string, string[]>();
  for (const m of messages) {
    const day = m.time.toISOString().slice(0, 10);
    let lines = days.get(day);
    if (lines === undefined) days.set(day, (lines = []));
    lines.push(`${JSON.stringify({ id: m.id, time: m.time.toISOString(), headers: m.headers, ...bodyFields(m.body) })}\n`);
  }
  return [...days].map(([day, lines]) => ({ path: `/${day}.jsonl`, data: Buffer.from(lines.join('')) }));
}
