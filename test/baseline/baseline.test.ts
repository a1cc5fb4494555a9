// Baseline against the real LevelDB in a temp directory.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Baseline, BaselineOpenError, type BaselineEntry, type BaselineOptions } from '../../lib/baseline/index.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

async function collect(it: AsyncIterable<BaselineEntry>): Promise<BaselineEntry[]> {
  const out: BaselineEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('baseline/Baseline (LevelDB)', () => {
  let dir: string;
  let open: Baseline[];
  let clock: number;

  const openAt = async (extra: Partial<BaselineOptions> = {}): Promise<Baseline> => {
    const b = await Baseline.open({ dir, windowMs: 90 * DAY, learningPeriodMs: 0, now: () => clock, ...extra });
    open.push(b);
    return b;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egw-baseline-'));
    open = [];
    clock = T0;
  });

  afterEach(async () => {
    for (const b of open) await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a first contact is novel for host and software; a repeat is not', async () => {
    const b = await openAt();
    const v1 = await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: T0 });
    assert.deepEqual(v1.novelFor, ['host', 'software']);
    assert.equal(v1.learning, false);
    assert.equal(v1.hostFirstSeen, T0);
    assert.equal(v1.softwareFirstSeen, T0);
    const v2 = await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: T0 + 1000 });
    assert.deepEqual(v2.novelFor, []);
    assert.equal(v2.hostFirstSeen, T0);
  });

  it('same host, new software → novel for software only; unattributed → host key only', async () => {
    const b = await openAt();
    await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: T0 });
    const v = await b.observe({ host: 'h1', software: 'python3 app.py', group: 'example.com', time: T0 + 5 });
    assert.deepEqual(v.novelFor, ['software']);
    const u = await b.observe({ host: 'h1', group: 'example.org', time: T0 + 6 });
    assert.deepEqual(u.novelFor, ['host']);
    assert.equal(u.softwareFirstSeen, undefined);
    const sw = await collect(b.entries({ kind: 'software' }));
    assert.deepEqual(sw.map((e) => `${e.subject}|${e.group}`), ['curl|example.com', 'python3 app.py|example.com']);
  });

  it('is novel again once the last contact is older than the window', async () => {
    const b = await openAt();
    await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: T0 });
    const inside = await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: T0 + 90 * DAY });
    assert.deepEqual(inside.novelFor, [], 'exactly at the window edge is still known');
    const after = await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: T0 + 180 * DAY + 1 });
    assert.deepEqual(after.novelFor, ['host', 'software']);
    assert.equal(after.hostFirstSeen, T0 + 180 * DAY + 1, 'first seen restarts');
    const [e] = await collect(b.entries({ kind: 'host', subject: 'h1' }));
    assert.equal(e.count, 1);
  });

  it('prune removes entries last seen before the window and keeps the rest', async () => {
    const b = await openAt();
    await b.observe({ host: 'h1', software: 'curl', group: 'old.example', time: T0 });
    await b.observe({ host: 'h1', software: 'curl', group: 'new.example', time: T0 + 50 * DAY });
    await b.observe({ host: 'h1', software: 'curl', group: 'renewed.example', time: T0 });
    await b.observe({ host: 'h1', software: 'curl', group: 'renewed.example', time: T0 + 60 * DAY }); // unflushed update
    const n = await b.prune(T0 + 100 * DAY);
    assert.equal(n, 2, 'host and software entry of old.example');
    const left = await collect(b.entries());
    assert.deepEqual(left.map((e) => `${e.kind}|${e.group}`).sort(),
      ['host|new.example', 'host|renewed.example', 'software|new.example', 'software|renewed.example']);
    const again = await b.observe({ host: 'h1', software: 'curl', group: 'old.example', time: T0 + 100 * DAY });
    assert.deepEqual(again.novelFor, ['host', 'software']);
  });

  it('survives close and reopen; write-behind updates are flushed on close', async () => {
    const b = await openAt({ flushIntervalMs: 3_600_000 });
    await b.observe({ host: 'h!1', software: 'java -jar a%b.jar', group: 'example.com', time: T0 });
    for (let i = 1; i <= 4; i++) {
      await b.observe({ host: 'h!1', software: 'java -jar a%b.jar', group: 'example.com', time: T0 + i * DAY });
    }
    await b.close();
    const b2 = await openAt();
    const v = await b2.observe({ host: 'h!1', software: 'java -jar a%b.jar', group: 'example.com', time: T0 + 5 * DAY });
    assert.deepEqual(v.novelFor, []);
    const all = await collect(b2.entries({ subject: 'h!1' }));
    assert.equal(all.length, 1);
    assert.deepEqual(all[0], { kind: 'host', subject: 'h!1', group: 'example.com', firstSeen: T0, lastSeen: T0 + 5 * DAY, count: 6 });
    const sw = await collect(b2.entries({ kind: 'software', group: 'example.com' }));
    assert.equal(sw[0].subject, 'java -jar a%b.jar');
  });

  it('a burst of new entries is written in a few coalesced batches, every one durable', async () => {
    const b = await openAt({ flushIntervalMs: 0 });
    const groups = Array.from({ length: 200 }, (_, i) => `g${i}.example`);
    const verdicts = await Promise.all(groups.map((group) => b.observe({ host: 'h', software: 's', group, time: T0 })));
    assert.ok(verdicts.every((v) => v.novelFor.length === 2), 'each is new for host and software');
    assert.equal(b.counters.newEntries, 400);
    assert.ok(b.counters.writeBatches >= 1 && b.counters.writeBatches < 400 / 4, `400 new entries in ${b.counters.writeBatches} batches`);
    await b.close();
    open = [];
    const again = await openAt();
    const entries = await collect(again.entries());
    assert.equal(entries.length, 400, 'every new entry reached LevelDB');
  });

  it('the write-behind timer flushes without close', async () => {
    const b = await openAt({ flushIntervalMs: 20 });
    await b.observe({ host: 'h1', group: 'example.com', time: T0 });
    await b.observe({ host: 'h1', group: 'example.com', time: T0 + 1 });
    const before = b.counters.flushes;
    const deadline = Date.now() + 2000;
    while (b.counters.flushes === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(b.counters.flushes > before, 'a timer flush ran');
  });

  it('the learning period starts at first open, survives reopen and ends', async () => {
    const b = await openAt({ learningPeriodMs: 7 * DAY });
    assert.equal(b.learningUntil, T0 + 7 * DAY);
    const v = await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: T0 + DAY });
    assert.equal(v.learning, true);
    assert.deepEqual(v.novelFor, ['host', 'software'], 'novelty still computed while learning');
    await b.close();
    clock = T0 + 3 * DAY;
    const b2 = await openAt({ learningPeriodMs: 7 * DAY });
    assert.equal(b2.learningUntil, T0 + 7 * DAY, 'start persisted, not reset by the restart');
    assert.equal((await b2.observe({ host: 'h1', group: 'a.example', time: T0 + 3 * DAY })).learning, true);
    const after = await b2.observe({ host: 'h1', group: 'b.example', time: T0 + 7 * DAY });
    assert.equal(after.learning, false);
    assert.deepEqual(after.novelFor, ['host']);
  });

  it('concurrent observes of the same new key: exactly one is novel', async () => {
    const b = await openAt();
    const o = { host: 'h1', software: 'curl', group: 'example.com' };
    const verdicts = await Promise.all(Array.from({ length: 50 }, (_, i) => b.observe({ ...o, time: T0 + i })));
    assert.equal(verdicts.filter((v) => v.novelFor.includes('host')).length, 1);
    assert.equal(verdicts.filter((v) => v.novelFor.includes('software')).length, 1);
    const [e] = await collect(b.entries({ kind: 'host' }));
    assert.equal(e.count, 50);
    assert.equal(e.lastSeen, T0 + 49);
  });

  it('a small cache still reads evicted entries back correctly', async () => {
    const b = await openAt({ cacheEntries: 4, flushIntervalMs: 0 });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        const v = await b.observe({ host: 'h1', group: `g${i}.example`, time: T0 + round });
        assert.deepEqual(v.novelFor, round === 0 ? ['host'] : [], `round ${round} g${i}`);
      }
    }
    assert.ok(b.counters.cacheEvictions > 0);
    const all = await collect(b.entries({ kind: 'host' }));
    assert.equal(all.length, 20);
    assert.ok(all.every((e) => e.count === 3 && e.lastSeen === T0 + 2), 'no update lost to eviction');
  });

  it('opening the same directory twice → BaselineOpenError naming the path and the fix', async () => {
    await openAt();
    await assert.rejects(openAt(), (err: unknown) => {
      assert.ok(err instanceof BaselineOpenError);
      assert.equal(err.reason, 'locked');
      assert.equal(err.path, dir);
      assert.match(err.message, new RegExp(`'${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`));
      assert.match(err.message, /locked by another process/);
      assert.match(err.message, /--state-dir/);
      return true;
    });
  });

  it('a database that names a file it no longer has (CURRENT → a missing manifest) is repaired at open and keeps its entries', async () => {
    const b = await openAt();
    await b.observe({ host: 'h1', software: 'curl', group: 'example.com', time: T0 });
    await b.close();
    open = open.filter((x) => x !== b);
    fs.writeFileSync(path.join(dir, 'CURRENT'), 'MANIFEST-999999\n');
    const told: string[] = [];
    const again = await openAt({ onRepaired: (w) => told.push(w) });
    assert.match(told.join(), /MANIFEST-999999/);
    assert.deepEqual((await again.observe({ host: 'h1', software: 'curl', group: 'example.com', time: T0 + 1 })).novelFor, []);
  });

  it('a directory that cannot be created → BaselineOpenError not-writable', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    await assert.rejects(openAt({ dir: path.join(file, 'db') }), (err: unknown) =>
      err instanceof BaselineOpenError && err.reason === 'not-writable' && /cannot be created \(ENOTDIR/.test(err.message));
  });

  it('a directory under /proc (where a recursive mkdir never settles) → not-writable, at once', async () => {
    const under = `/proc/egresswatch-test-${process.pid}/db`;
    await assert.rejects(openAt({ dir: under }), (err: unknown) =>
      err instanceof BaselineOpenError && err.reason === 'not-writable' && err.path === under
      && /cannot be created \(ENOENT/.test(err.message) && /--state-dir/.test(err.message));
  });

  it('observe after close is rejected', async () => {
    const b = await openAt();
    await b.close();
    await assert.rejects(b.observe({ host: 'h1', group: 'example.com', time: T0 }), /closed/);
  });
});
