/**
 * An `ObjectStore` that times every call of another one and tells a meter (operation, seconds,
 * success, bytes moved). It adds no behaviour: results and errors pass through unchanged, so any
 * implementation (local folder, S3) can be wrapped, and the conformance suite holds for it too.
 */
import { secondsSince, type ObjectStoreOp, type StorageMeter } from '../../lib/meter.js';
import type { ChunkLocation, ObjectStore, PackInfo, PackWriter } from './object-store.js';

async function timed<T>(meter: StorageMeter, op: ObjectStoreOp, fn: () => Promise<T>, bytes?: (r: T) => number): Promise<T> {
  const start = process.hrtime.bigint();
  try {
    const r = await fn();
    meter.objectStoreOp(op, secondsSince(start), true, bytes?.(r));
    return r;
  } catch (err) {
    meter.objectStoreOp(op, secondsSince(start), false);
    throw err;
  }
}

class MeteredPackWriter implements PackWriter {
  constructor(
    private readonly inner: PackWriter,
    private readonly meter: StorageMeter,
  ) {}

  get id(): string {
    return this.inner.id;
  }

  get size(): number {
    return this.inner.size;
  }

  append(data: Uint8Array): Promise<number> {
    return timed(this.meter, 'append', () => this.inner.append(data), () => data.length);
  }

  seal(): Promise<void> {
    return timed(this.meter, 'seal', () => this.inner.seal());
  }

  abort(): Promise<void> {
    return timed(this.meter, 'abort', () => this.inner.abort());
  }
}

export class MeteredObjectStore implements ObjectStore {
  constructor(
    readonly inner: ObjectStore,
    private readonly meter: StorageMeter,
  ) {}

  open(): Promise<{ removedTemp: number }> {
    return this.inner.open();
  }

  async createPackWriter(): Promise<PackWriter> {
    return new MeteredPackWriter(await timed(this.meter, 'create', () => this.inner.createPackWriter()), this.meter);
  }

  read(loc: ChunkLocation): Promise<Buffer> {
    return timed(this.meter, 'read', () => this.inner.read(loc), (b) => b.length);
  }

  async *listPacks(): AsyncIterable<string> {
    const start = process.hrtime.bigint();
    let ok = false;
    try {
      yield* this.inner.listPacks();
      ok = true;
    } finally {
      this.meter.objectStoreOp('list', secondsSince(start), ok);
    }
  }

  async *listPackInfos(): AsyncIterable<PackInfo> {
    const start = process.hrtime.bigint();
    let ok = false;
    try {
      yield* this.inner.listPackInfos();
      ok = true;
    } finally {
      this.meter.objectStoreOp('list', secondsSince(start), ok);
    }
  }

  deletePack(id: string): Promise<void> {
    return timed(this.meter, 'delete', () => this.inner.deletePack(id));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
