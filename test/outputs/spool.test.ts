// The durable spool: order, per-consumer acks, bounds with the drop callback, age, restart,
// and kill -9 of a process right after its append resolved.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Spool } from '../../lib/outputs/spool.js';
import { REPO_ROOT } from '../helpers/env.js';

const alert = (i: number): Record<string, unknown> => ({ event: { id: `id-${i}` }, n: i });

describe('outputs/spool', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-spool-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads in append order, acks per consumer, deletes what every consumer acked', async () => {
    const spool = await Spool.open({ dir });
    spool.consumer('a');
    spool.consumer('b');
    for (let i = 0; i < 10; i++) await spool.append(alert(i));
    const batch = await spool.readBatch('a', 4, 1 << 20);
    assert.deepEqual(batch.map((e) => e.alert.n), [0, 1, 2, 3]);
    assert.ok(batch.every((e, i) => i === 0 || e.seq > batch[i - 1].seq));
    await spool.ack('a', batch[3].seq);
    assert.equal(spool.depth('a'), 6);
    assert.equal(spool.depth('b'), 10);
    assert.equal(spool.depth(), 10, 'b has not acked: nothing deleted');
    assert.deepEqual((await spool.readBatch('a', 100, 1 << 20)).map((e) => e.alert.n), [4, 5, 6, 7, 8, 9]);
    await spool.ack('b', batch[1].seq);
    assert.equal(spool.depth(), 8);
    assert.equal(spool.stats.deleted, 2);
    await spool.close();
  });

  it('limits a batch by bytes but always returns at least one entry', async () => {
    const spool = await Spool.open({ dir });
    spool.consumer('a');
    for (let i = 0; i < 5; i++) await spool.append({ pad: 'x'.repeat(100), i });
    assert.equal((await spool.readBatch('a', 100, 250)).length, 2);
    assert.equal((await spool.readBatch('a', 100, 10)).length, 1);
    assert.ok(spool.pendingBytes('a') > 500);
    await spool.close();
  });

  it('drops the oldest when over maxEntries or maxBytes and reports it', async () => {
    const drops: [number, string][] = [];
    const spool = await Spool.open({ dir, maxEntries: 3, onDrop: (n, why) => drops.push([n, why]) });
    spool.consumer('a');
    for (let i = 0; i < 5; i++) await spool.append(alert(i));
    assert.equal(spool.depth(), 3);
    assert.deepEqual(drops, [[1, 'full'], [1, 'full']]);
    assert.deepEqual((await spool.readBatch('a', 10, 1 << 20)).map((e) => e.alert.n), [2, 3, 4]);
    await spool.close();
    const dir2 = path.join(dir, 'bytes');
    const byBytes = await Spool.open({ dir: dir2, maxBytes: 1000, onDrop: (n, why) => drops.push([n, why]) });
    for (let i = 0; i < 20; i++) await byBytes.append({ pad: 'y'.repeat(200), i });
    assert.ok(byBytes.depth() <= 5 && byBytes.depth() >= 4, `depth ${byBytes.depth()}`);
    assert.equal(byBytes.stats.droppedFull, 20 - byBytes.depth());
    await byBytes.close();
  });

  it('drops entries older than maxAgeMs (injected clock) and reports oldestAgeMs', async () => {
    let t = 1_000_000;
    const drops: [number, string][] = [];
    const spool = await Spool.open({ dir, maxAgeMs: 60_000, now: () => t, onDrop: (n, why) => drops.push([n, why]) });
    spool.consumer('a');
    await spool.append(alert(1));
    await spool.append(alert(2));
    t += 30_000;
    await spool.append(alert(3));
    assert.equal(spool.oldestAgeMs(), 30_000);
    t += 40_000;
    assert.deepEqual((await spool.readBatch('a', 10, 1 << 20)).map((e) => e.alert.n), [3]);
    assert.deepEqual(drops, [[2, 'age']]);
    assert.equal(spool.stats.droppedAge, 2);
    await spool.close();
  });

  it('commits a burst of concurrent appends in order; close() waits for them; later appends are refused', async () => {
    const spool = await Spool.open({ dir });
    spool.consumer('a');
    const writes = Array.from({ length: 300 }, (_, i) => spool.append(alert(i)));
    const closing = spool.close();
    await Promise.all(writes);
    await closing;
    await assert.rejects(spool.append(alert(999)), /closed/);
    const again = await Spool.open({ dir });
    again.consumer('a');
    assert.deepEqual((await again.readBatch('a', 1000, 1 << 30)).map((e) => e.alert.n), Array.from({ length: 300 }, (_, i) => i));
    assert.equal(again.depth('a'), 300);
    await again.close();
  });

  it('keeps entries, sequence and cursors across a restart', async () => {
    let spool = await Spool.open({ dir });
    spool.consumer('a');
    for (let i = 0; i < 4; i++) await spool.append(alert(i));
    const first = await spool.readBatch('a', 2, 1 << 20);
    await spool.ack('a', first[1].seq);
    await spool.close();
    spool = await Spool.open({ dir });
    spool.consumer('a');
    assert.equal(spool.depth('a'), 2);
    await spool.append(alert(4));
    const rest = await spool.readBatch('a', 10, 1 << 20);
    assert.deepEqual(rest.map((e) => e.alert.n), [2, 3, 4]);
    assert.ok(rest[0].seq > first[1].seq && rest[2].seq > rest[1].seq);
    await spool.ack('a', rest[2].seq);
    await spool.close();
    spool = await Spool.open({ dir });
    spool.consumer('a');
    await spool.append(alert(5));
    const after = await spool.readBatch('a', 10, 1 << 20);
    assert.equal(after.length, 1);
    assert.ok(after[0].seq > rest[2].seq, 'sequence keeps growing after the spool emptied');
    await spool.close();
  });

  it('every alert whose append resolved survives kill -9', async function () {
    this.timeout(30_000);
    const mod = path.join(REPO_ROOT, 'dist', 'lib', 'outputs', 'spool.js');
    const code = `import { Spool } from ${JSON.stringify(mod)};
      const s = await Spool.open({ dir: process.argv[1] });
      for (let i = 0; ; i++) { await s.append({ event: { id: 'k' + i }, i }); process.stdout.write(i + '\\n'); }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('child wrote too little')), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 200) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((r) => child.once('exit', r));
    const confirmed = out.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
    const spool = await Spool.open({ dir });
    spool.consumer('x');
    const got = (await spool.readBatch('x', 100_000, 1 << 30)).map((e) => e.alert.i as number);
    await spool.close();
    for (const i of confirmed) assert.equal(got[i], i, `alert ${i} confirmed before the kill is missing`);
    assert.ok(confirmed.length >= 200);
  });
});
