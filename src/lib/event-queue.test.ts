import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { EventQueue } from './event-queue.js';

describe('EventQueue', () => {
  it('keeps matching events emitted before follow() starts, then yields new ones, until aborted', async () => {
    const e = new EventEmitter();
    const q = new EventQueue<number>(e, 'n', (n) => n % 2 === 0);
    e.emit('n', 1);
    e.emit('n', 2);
    const ac = new AbortController();
    const got: number[] = [];
    const done = (async () => {
      for await (const n of q.follow(ac.signal)) {
        got.push(n);
        if (n === 4) ac.abort();
      }
    })();
    e.emit('n', 3);
    e.emit('n', 4);
    await done;
    assert.deepEqual(got, [2, 4]);
    assert.equal(e.listenerCount('n'), 0, 'it stops listening when the follow ends');
  });

  it('stops listening on close', () => {
    const e = new EventEmitter();
    const q = new EventQueue<number>(e, 'n', () => true);
    q.close();
    q.close();
    assert.equal(e.listenerCount('n'), 0);
  });
});
