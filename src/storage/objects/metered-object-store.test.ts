import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NOOP_METER, type Meter, type ObjectStoreOp } from '../../lib/meter.js';
import { FsObjectStore } from './fs-object-store.js';
import { MeteredObjectStore } from './metered-object-store.js';
import { runObjectStoreConformance } from './object-store-conformance.js';

class RecordingMeter {
  readonly calls: Array<{ op: ObjectStoreOp; ok: boolean; bytes: number | undefined }> = [];
  readonly meter: Meter = { ...NOOP_METER, objectStoreOp: (op, _s, ok, bytes) => this.calls.push({ op, ok, bytes }) };
}

runObjectStoreConformance('MeteredObjectStore over FsObjectStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sluice-metered-'));
  return { store: new MeteredObjectStore(new FsObjectStore(root), new RecordingMeter().meter), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('MeteredObjectStore', () => {
  it('reports each call with its operation, outcome and bytes', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sluice-metered-'));
    try {
      const rec = new RecordingMeter();
      const store = new MeteredObjectStore(new FsObjectStore(root), rec.meter);
      await store.open();
      const w = await store.createPackWriter();
      await w.append(Buffer.alloc(100));
      await w.append(Buffer.alloc(23));
      await w.seal();
      assert.equal((await store.read({ pack: w.id, offset: 100, length: 23 })).length, 23);
      await assert.rejects(store.read({ pack: 'f'.repeat(32), offset: 0, length: 1 }));
      for await (const _ of store.listPacks()) void _;
      await store.deletePack(w.id);
      await store.close();
      assert.deepEqual(rec.calls, [
        { op: 'create', ok: true, bytes: undefined },
        { op: 'append', ok: true, bytes: 100 },
        { op: 'append', ok: true, bytes: 23 },
        { op: 'seal', ok: true, bytes: undefined },
        { op: 'read', ok: true, bytes: 23 },
        { op: 'read', ok: false, bytes: undefined },
        { op: 'list', ok: true, bytes: undefined },
        { op: 'delete', ok: true, bytes: undefined },
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
