// Stores damaged the way a crash damages them, on the real LevelDB: opened again with their
// data through LevelDB's repair (lib/level-open.ts), and the baseline, spool and collector
// store that use it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import { openRepairing } from '../lib/level-open.js';
import { Baseline, BaselineOpenError } from '../lib/baseline/index.js';
import { Spool } from '../lib/outputs/spool.js';
import { isRoot, requirePrereq } from './helpers/env.js';
import { fillUp, mountTmpfs } from './helpers/tmpfs.js';

const KEYS = 3000;

/** A store with KEYS keys in a compacted table and 50 more in its log (as a running store has). */
async function fill(dir: string): Promise<void> {
  const db = new Level<string, string>(dir);
  await db.open();
  for (let i = 0; i < KEYS; i += 500) {
    await db.batch(Array.from({ length: 500 }, (_, j) => ({ type: 'put' as const, key: `k${String(i + j).padStart(5, '0')}`, value: 'v'.repeat(64) })));
  }
  // classic-level's compaction (level's types leave it out): the keys go into a table file.
  await (db as unknown as { compactRange(a: string, b: string): Promise<void> }).compactRange('k', 'l');
  await db.batch(Array.from({ length: 50 }, (_, j) => ({ type: 'put' as const, key: `m${j}`, value: 'x' })));
  await db.close();
}

async function count(db: Level<string, string>): Promise<number> {
  let n = 0;
  for await (const _ of db.keys()) n++;
  return n;
}

const files = (dir: string, re: RegExp): string[] => fs.readdirSync(dir).filter((f) => re.test(f)).map((f) => path.join(dir, f));

/** What a power cut leaves, each its own way. */
const DAMAGE: [string, (dir: string) => void][] = [
  ['an empty CURRENT (written, never flushed)', (dir) => fs.writeFileSync(path.join(dir, 'CURRENT'), '')],
  ['an empty MANIFEST', (dir) => { for (const f of files(dir, /^MANIFEST-/)) fs.writeFileSync(f, ''); }],
  ['a CURRENT naming a MANIFEST that is gone', (dir) => fs.writeFileSync(path.join(dir, 'CURRENT'), 'MANIFEST-999999\n')],
  ['no CURRENT at all', (dir) => fs.rmSync(path.join(dir, 'CURRENT'))],
];

describe('level-open: a damaged LevelDB store is repaired at open', function () {
  this.timeout(20000);
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-levelopen-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('opens an undamaged store as it is, saying nothing', async () => {
    await fill(dir);
    const { db, repaired } = await openRepairing(dir, () => new Level<string, string>(dir));
    assert.equal(repaired, undefined);
    assert.equal(await count(db), KEYS + 50);
    await db.close();
  });

  for (const [what, damage] of DAMAGE) {
    it(`${what}: every key is back, and the repair is told`, async () => {
      await fill(dir);
      damage(dir);
      const { db, repaired } = await openRepairing(dir, () => new Level<string, string>(dir));
      assert.ok(repaired, 'the repair is reported');
      assert.equal(await count(db), KEYS + 50);
      await db.close();
    });
  }

  it('without the repair, a missing CURRENT opens as an empty store and its tables are deleted', async () => {
    // Why a missing CURRENT is repaired before the open: what LevelDB does by itself.
    await fill(dir);
    fs.rmSync(path.join(dir, 'CURRENT'));
    const db = new Level<string, string>(dir);
    await db.open();
    assert.equal(await count(db), 50, 'only the keys of the log, replayed: the table\'s are gone');
    await db.close();
  });

  it('an error that is not damage (the store is locked) is thrown as it is, no repair', async () => {
    await fill(dir);
    const holder = new Level<string, string>(dir);
    await holder.open();
    try {
      await assert.rejects(openRepairing(dir, () => new Level<string, string>(dir)), (err: Error & { cause?: { code?: string }; repairTried?: boolean }) => {
        assert.equal(err.cause?.code, 'LEVEL_LOCKED');
        assert.equal(err.repairTried, undefined);
        return true;
      });
      assert.equal(await count(holder), KEYS + 50, 'the holder\'s store is untouched');
    } finally {
      await holder.close();
    }
  });

  it('files the repair cannot read are left out: the store opens with what is left, and the repair is told', async () => {
    await fill(dir);
    // No MANIFEST to go by, and the tables and logs are not LevelDB files at all.
    fs.writeFileSync(path.join(dir, 'CURRENT'), 'MANIFEST-999999\n');
    for (const f of files(dir, /\.(ldb|log)$/)) fs.writeFileSync(f, 'not a table');
    const { db, repaired } = await openRepairing(dir, () => new Level<string, string>(dir));
    assert.ok(repaired);
    assert.equal(await count(db), 0);
    await db.close();
  });

  it('the baseline keeps what it knew through a repair, and its owner is told', async () => {
    const T = Date.UTC(2026, 0, 1);
    const opts = { dir, windowMs: 90 * 86_400_000, learningPeriodMs: 0, now: () => T };
    const b = await Baseline.open(opts);
    await b.observe({ host: 'h', software: 'curl', group: 'example.com', time: T });
    await b.close();
    fs.writeFileSync(path.join(dir, 'CURRENT'), '');
    const told: string[] = [];
    const again = await Baseline.open({ ...opts, onRepaired: (w) => told.push(w) });
    try {
      assert.equal(told.length, 1);
      assert.match(told[0], /CURRENT/);
      const v = await again.observe({ host: 'h', software: 'curl', group: 'example.com', time: T + 1000 });
      assert.deepEqual(v.novelFor, [], 'still known after the repair');
    } finally {
      await again.close();
    }
  });

  it('a baseline the repair cannot open names the damage, that the repair was tried, and the fix', async function () {
    // The repair has to write a new MANIFEST: on a full file system it cannot.
    requirePrereq(this, isRoot(), 'root (a small tmpfs of its own)');
    const fsys = mountTmpfs('ew-levelopen-full-', '2m');
    try {
      const T = Date.UTC(2026, 0, 1);
      const opts = { dir: path.join(fsys.dir, 'baseline'), windowMs: 90 * 86_400_000, learningPeriodMs: 0, now: () => T };
      await (await Baseline.open(opts)).close();
      fs.writeFileSync(path.join(opts.dir, 'CURRENT'), '');
      fillUp(path.join(fsys.dir, 'filler'));
      await assert.rejects(Baseline.open(opts), (err: unknown) => {
        assert.ok(err instanceof BaselineOpenError, String(err));
        assert.equal(err.reason, 'corrupt');
        assert.match(err.message, /CURRENT file does not end with newline/);
        assert.match(err.message, /repair could not fix it/);
        assert.match(err.message, /move the directory aside/);
        return true;
      });
    } finally {
      fsys.remove();
    }
  });

  it('the forwarding spool keeps its undelivered alerts through a repair', async () => {
    const s = await Spool.open({ dir });
    s.consumer('http');
    for (let i = 0; i < 20; i++) await s.append({ event: { id: `a${i}` } });
    await s.close();
    fs.writeFileSync(path.join(dir, 'CURRENT'), '');
    const told: string[] = [];
    const again = await Spool.open({ dir, onRepaired: (w) => told.push(w) });
    try {
      again.consumer('http');
      assert.equal(told.length, 1);
      const batch = await again.readBatch('http', 100, 1 << 20);
      assert.equal(batch.length, 20);
    } finally {
      await again.close();
    }
  });
});
