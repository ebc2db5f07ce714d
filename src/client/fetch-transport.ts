/**
 * A transport over the standard `fetch` (browsers, and Node 20's global fetch): what the web
 * console and any browser code use. Uses nothing of Node's.
 */
import type { Transport, TransportRequest, TransportResponse } from './core.js';

/** File bodies `fetch` can send. */
export type FetchBody = string | Uint8Array | Blob;

export class FetchTransport implements Transport<FetchBody> {
  async request(req: TransportRequest<FetchBody>): Promise<TransportResponse> {
    const init: RequestInit = { method: req.method, headers: req.headers };
    // A Uint8Array is a valid BodyInit; the cast is for lib.dom's narrower ArrayBufferView typing.
    if (req.body !== undefined) init.body = req.body as BodyInit;
    if (req.signal !== undefined) init.signal = req.signal;
    const res = await fetch(req.url, init);
    return {
      status: res.status,
      text: () => res.text(),
      json: () => res.json() as Promise<unknown>,
      bytes: async () => new Uint8Array(await res.arrayBuffer()),
      chunks: () => streamChunks(res),
      dump: async () => {
        await res.body?.cancel();
      },
    };
  }

  async close(): Promise<void> {
    // fetch pools connections itself; nothing to close.
  }
}

async function* streamChunks(res: Response): AsyncGenerator<Uint8Array> {
  if (res.body === null) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
    await res.body.cancel().catch(() => undefined);
  }
}
