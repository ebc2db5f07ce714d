import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { layOut } from './batch-layout.js';

const at = (iso: string): Date => new Date(iso);

describe('connector batch layout', () => {
  it('puts each message in a file named after its id', () => {
    const files = layOut([
      { id: '001', time: at('2026-12-03T10:00:00Z'), headers: {}, body: Buffer.from('a') },
      { id: '002', time: at('2026-12-03T10:00:01Z'), headers: {}, body: Buffer.from([0xff]) },
    ], 'files');
    assert.deepEqual(files.map((f) => f.path), ['/001', '/002']);
    assert.deepEqual(files[1]!.data, Buffer.from([0xff]));
  });

  it('appends jsonl lines per UTC day, with base64 for bodies that are not UTF-8', () => {
    const files = layOut([
      { id: '1', time: at('2026-12-03T23:59:59Z'), headers: { k: 'v' }, body: Buffer.from('héllo') },
      { id: '2', time: at('2026-12-04T00:00:00Z'), headers: {}, body: Buffer.from([0xc3, 0x28]) },
      { id: '3', time: at('2026-12-03T23:59:59.5Z'), headers: {}, body: Buffer.from('x') },
    ], 'jsonl');
    assert.deepEqual(files.map((f) => f.path), ['/2026-12-03.jsonl', '/2026-12-04.jsonl']);
    const day1 = files[0]!.data.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(day1[0], { id: '1', time: '2026-12-03T23:59:59.000Z', headers: { k: 'v' }, body: 'héllo' });
    assert.equal(day1[1]!.id, '3');
    const day2 = JSON.parse(files[1]!.data.toString()) as Record<string, unknown>;
    assert.equal(day2.encoding, 'base64');
    assert.deepEqual(Buffer.from(day2.body as string, 'base64'), Buffer.from([0xc3, 0x28]));
  });
});
