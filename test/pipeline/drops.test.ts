// The "kernel dropped packets" warning: told when libpcap's drop counters go up, with by how
// much, not again at every 10 s report after one drop (the counters only grow).
import assert from 'node:assert/strict';
import type { InterfaceStats } from '../../lib/capture/index.js';
import { newDrops } from '../../lib/pipeline/index.js';

const at = (iface: string, dropped: number, ifDropped = 0): InterfaceStats => ({
  interface: iface, received: 1000, dropped, ifDropped, delivered: 1000 - dropped, callbackErrors: 0, readErrors: 0, reopens: 0,
});

describe('pipeline: newDrops', () => {
  it('tells each interface\'s drops once, as they happen, and a reopened handle\'s from zero', () => {
    const seen = new Map<string, number>();
    assert.deepEqual(newDrops([at('any', 0)], seen), []);
    assert.deepEqual(newDrops([at('any', 500)], seen).map((d) => [d.stats.interface, d.since]), [['any', 500]]);
    assert.deepEqual(newDrops([at('any', 500)], seen), [], 'the same total is not told again');
    assert.deepEqual(newDrops([at('any', 520, 3)], seen).map((d) => d.since), [23], 'kernel and interface drops together');
    // eth1 came back after it went away: its new handle counts from zero.
    assert.deepEqual(newDrops([at('any', 523), at('eth1', 7)], seen).map((d) => [d.stats.interface, d.since]), [['eth1', 7]]);
    assert.deepEqual(newDrops([at('eth1', 2)], seen).map((d) => [d.stats.interface, d.since]), [['eth1', 2]], 'a counter that went down restarted');
  });
});
