// Baseline.observeSync and the preloaded (complete) store, against the real LevelDB.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Baseline, type BaselineOptions } from '../../lib/baseline/index.js';
import { until } from '../helpers/wait.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

describe('baseline/Baseline.observeSync', () => {
  let dir: string;
  let open: Baseline[];

  const openAt = async (extra: Partial<BaselineOptions> = {}): Promise<Baseline> => {
    const b = await Baseline.open({ dir, windowMs: 90 * DAY, learningPeriodMs: 0, now: () => T0, flushIntervalMs: 0, ...extra });
    open.push(b);
    return b;
  };
  const reopen = async (extra: Partial<BaselineOptions> = {}): Promise<Baseline> => {
    for (const b of open) await b.close();
    open = [];
    return openAt(extra);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egw-baseline-sync-'));
    open = [];
  });

  afterEach(async () => {
    for (const b of open) await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('decides a small store from memory: new once, durable before it says so, then known', async () => {
    const b = await openAt();
    const first = b.observeSync({ host: 'h', software: 's', group: 'example.com', time: T0 });
    assert.ok(first, 'an empty store is wholly in memory');
    assert.deepEqual(first.verdict.novelFor, ['host', 'software']);
    assert.ok(first.durable, 'a new entry comes with its write');
    const second = b.observeSync({ host: 'h', software: 's', group: 'example.com', time: T0 + 1000 });
    assert.deepEqual(second?.verdict.novelFor, [], 'already known before the write finished');
    assert.equal(second?.durable, undefined);
    await first.durable;
    const again = await reopen();
    const v = again.observeSync({ host: 'h', software: 's', group: 'example.com', time: T0 + DAY });
    assert.deepEqual(v?.verdict.novelFor, [], 'preloaded from disk at open');
    assert.equal(again.counters.reads, 0, 'no LevelDB read for a preloaded store');
    assert.deepEqual((await again.observe({ host: 'h', group: 'other.example', time: T0 + DAY })).novelFor, ['host']);
  });

  it('agrees with observe() on window expiry and the host/software split', async () => {
    const b = await openAt();
    await b.observe({ host: 'h', software: 'a', group: 'g.example', time: T0 });
    const sw = b.observeSync({ host: 'h', software: 'b', group: 'g.example', time: T0 + 1 });
    assert.deepEqual(sw?.verdict.novelFor, ['software']);
    const late = b.observeSync({ host: 'h', software: 'a', group: 'g.example', time: T0 + 91 * DAY });
    assert.deepEqual(late?.verdict.novelFor, ['host', 'software'], 'last seen before the window: new again');
    await late?.durable;
  });

  it('defers to observe() when the store is too big to hold, or the key is in flight', async () => {
    const seed = await openAt();
    await Promise.all(Array.from({ length: 40 }, (_, i) => seed.observe({ host: 'h', group: `g${i}.example`, time: T0 })));
    const big = await reopen({ cacheEntries: 16 });
    assert.equal(big.observeSync({ host: 'h', group: 'new.example', time: T0 + 1 }), undefined, '40 entries > half of 16: not preloaded, and its keys not scanned yet');
    assert.deepEqual((await big.observe({ host: 'h', group: 'g3.example', time: T0 + 2 })).novelFor, []);
    const small = await reopen();
    const pending = small.observe({ host: 'h', group: 'g5.example', time: T0 + 3 });
    assert.equal(small.observeSync({ host: 'h', group: 'g5.example', time: T0 + 4 }), undefined, 'an observation of the key is in flight');
    await pending;
  });

  it('a store too big to hold: once its keys are scanned, a key never written is decided without a read', async () => {
    const seed = await openAt();
    await Promise.all(Array.from({ length: 40 }, (_, i) => seed.observe({ host: 'h', software: 's', group: `g${i}.example`, time: T0 })));
    const big = await reopen({ cacheEntries: 16 });
    // Written while the keys are being scanned: in the filter too (the scan may not see them).
    for (let i = 0; i < 30; i++) await big.observe({ host: 'h', group: `late${i}.example`, time: T0 + 1 });
    await until(() => big.counters.filterBuilds === 1, 'the key scan');
    const readsBefore = big.counters.reads;
    const absentBefore = big.counters.absentByFilter;
    const fresh = big.observeSync({ host: 'h', software: 's', group: 'new.example', time: T0 + 2 });
    assert.deepEqual(fresh?.verdict.novelFor, ['host', 'software'], 'decided from memory');
    await fresh?.durable;
    assert.equal(big.counters.reads, readsBefore, 'no read');
    assert.equal(big.counters.absentByFilter, absentBefore + 2, 'its host and software keys');
    // Keys in the store but not in memory still need their read: never taken for new.
    for (const group of ['g3.example', 'late0.example']) {
      assert.equal(big.observeSync({ host: 'h', group, time: T0 + 3 }), undefined, group);
      assert.deepEqual((await big.observe({ host: 'h', group, time: T0 + 3 })).novelFor, [], group);
    }
    assert.equal(big.counters.reads, readsBefore + 2);
    // A prune that deletes keys builds a filter without them.
    assert.equal(await big.prune(T0 + 91 * DAY + 10), 40 * 2 + 30 + 2);
    await until(() => big.counters.filterBuilds === 2, 'the scan after the prune');
    assert.equal(big.counters.filterBuildErrors, 0);
  });

  it('learningFromFirstObservation starts the learning period at the first observation, persisted', async () => {
    const b = await openAt({ learningPeriodMs: DAY, learningFromFirstObservation: true, now: () => T0 + 1000 * DAY });
    assert.ok(Number.isNaN(b.learningUntil), 'nothing observed yet');
    const first = b.observeSync({ host: 'h', group: 'a.example', time: T0 });
    assert.equal(first?.verdict.learning, true);
    assert.equal(b.learningUntil, T0 + DAY);
    await first?.durable;
    const after = b.observeSync({ host: 'h', group: 'b.example', time: T0 + 2 * DAY });
    assert.equal(after?.verdict.learning, false);
    await after?.durable;
    const again = await reopen({ learningPeriodMs: DAY, learningFromFirstObservation: true });
    assert.equal(again.learningUntil, T0 + DAY, 'the start survived the restart');
  });
});
