// BaselineAdmin against a real LevelDB in a temp directory, filled through Baseline.observe().
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Baseline, BaselineAdmin, BaselineImportError, type BaselineEntry, type Observation } from '../../lib/baseline/index.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

async function collect(it: AsyncIterable<BaselineEntry>): Promise<BaselineEntry[]> {
  const out: BaselineEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function fill(dir: string, obs: Observation[], learningPeriodMs = 0): Promise<void> {
  const b = await Baseline.open({ dir, windowMs: 90 * DAY, learningPeriodMs, now: () => T0, flushIntervalMs: 0 });
  for (const o of obs) await b.observe(o);
  await b.close();
}

async function exportText(admin: BaselineAdmin): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await admin.export(out);
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

const OBS: Observation[] = [
  { host: 'h1', software: '/usr/bin/curl', group: 'example.com', time: T0 + 3 * DAY },
  { host: 'h1', software: '/usr/bin/wget', group: 'example.com', time: T0 + 1 * DAY },
  { host: 'h1', software: '/usr/bin/curl', group: 'example.com', time: T0 + 5 * DAY },
  { host: 'h1', software: '/usr/bin/curl', group: 'example.org', time: T0 + 2 * DAY },
  { host: 'h1', group: 'example.net', time: T0 + 10 * DAY },
  { host: 'h2', software: 'java:billing', group: 'example.com', time: T0 + 2 * DAY },
];

describe('baseline/BaselineAdmin (LevelDB)', () => {
  let root: string;
  let dir: string;
  let admins: BaselineAdmin[];
  const openAdmin = async (d = dir, create = false): Promise<BaselineAdmin> => {
    const a = await BaselineAdmin.open(d, { create });
    admins.push(a);
    return a;
  };

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'egw-admin-'));
    dir = path.join(root, 'baseline');
    admins = [];
    await fill(dir, OBS, 24 * 3600_000);
  });
  afterEach(async () => {
    for (const a of admins) await a.close().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('opens a baseline a crash damaged (no CURRENT) with LevelDB\'s repair, every entry kept, and says so', async () => {
    await fill(dir, OBS);
    const before = (await collect((await openAdmin()).list())).length;
    await admins.pop()?.close();
    fs.rmSync(path.join(dir, 'CURRENT'));
    const told: string[] = [];
    const a = await BaselineAdmin.open(dir, { onRepaired: (w) => told.push(w) });
    admins.push(a);
    assert.match(told.join(), /CURRENT was missing/);
    assert.equal((await collect(a.list())).length, before);
    assert.ok(before > 0);
  });

  it('lists with filters by software, host, kind and group', async () => {
    const a = await openAdmin();
    const all = await collect(a.list());
    assert.equal(all.length, 8); // host: h1 × 3 groups, h2 × 1; software: curl × 2, wget, java:billing
    assert.equal(all.filter((e) => e.kind === 'host').length, 4);
    const curl = await collect(a.list({ kind: 'software', subject: '/usr/bin/curl' }));
    assert.deepEqual(curl.map((e) => e.group), ['example.com', 'example.org']);
    assert.deepEqual(curl[0], { kind: 'software', subject: '/usr/bin/curl', group: 'example.com',
      firstSeen: T0 + 3 * DAY, lastSeen: T0 + 5 * DAY, count: 2 });
    const h2 = await collect(a.list({ kind: 'host', subject: 'h2' }));
    assert.deepEqual(h2.map((e) => [e.subject, e.group]), [['h2', 'example.com']]);
    const com = await collect(a.list({ group: 'example.com' }));
    assert.equal(com.length, 5);
    assert.ok(com.every((e) => e.group === 'example.com'));
    const hosts = await collect(a.list({ kind: 'host' }));
    assert.ok(hosts.every((e) => e.kind === 'host'));
  });

  it('show lists every entry for a group, earliest first contact first', async () => {
    const a = await openAdmin();
    const s = await a.show('example.com');
    assert.deepEqual(s.map((e) => `${e.kind}:${e.subject}`),
      ['host:h1', 'software:/usr/bin/wget', 'host:h2', 'software:java:billing', 'software:/usr/bin/curl']);
    for (let i = 1; i < s.length; i++) assert.ok(s[i - 1].firstSeen <= s[i].firstSeen);
    assert.deepEqual(await a.show('nothing.example'), []);
  });

  it('forget deletes one (group, software), a whole group, or a whole software', async () => {
    const a = await openAdmin();
    assert.equal(await a.forget({ group: 'example.com', software: '/usr/bin/curl' }), 1);
    assert.equal((await collect(a.list({ kind: 'software', subject: '/usr/bin/curl' }))).length, 1);
    assert.equal(await a.forget({ software: '/usr/bin/curl' }), 1);
    assert.equal((await collect(a.list({ kind: 'software', subject: '/usr/bin/curl' }))).length, 0);
    assert.equal(await a.forget({ group: 'example.com' }), 4); // h1, h2, wget, java:billing
    assert.equal((await collect(a.list({ group: 'example.com' }))).length, 0);
    assert.equal(await a.forget({ group: 'example.com' }), 0);
    await assert.rejects(a.forget({}), RangeError);
  });

  it('a forgotten entry is new again for the agent', async () => {
    const a = await openAdmin();
    await a.forget({ group: 'example.org', software: '/usr/bin/curl' });
    await a.close();
    const b = await Baseline.open({ dir, windowMs: 90 * DAY, learningPeriodMs: 0, now: () => T0 });
    const v = await b.observe({ host: 'h1', software: '/usr/bin/curl', group: 'example.org', time: T0 + 11 * DAY });
    await b.close();
    assert.deepEqual(v.novelFor, ['software']);
  });

  it('export → import into an empty directory gives identical entries', async () => {
    const a = await openAdmin();
    const text = await exportText(a);
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 8);
    const first = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(first), ['kind', 'subject', 'group', 'firstSeen', 'lastSeen', 'count']);
    assert.equal(first.firstSeen, new Date(T0 + 1 * DAY).toISOString());
    const file = path.join(root, 'export.jsonl');
    fs.writeFileSync(file, text);
    const b = await openAdmin(path.join(root, 'copy'), true);
    const r = await b.import(file);
    assert.deepEqual(r, { lines: 8, created: 8, merged: 0 });
    assert.deepEqual(await collect(b.list()), await collect(a.list()));
  });

  it('import merges: earliest firstSeen, latest lastSeen, counts added', async () => {
    const a = await openAdmin();
    const file = path.join(root, 'merge.jsonl');
    const line = (o: object): string => JSON.stringify(o);
    fs.writeFileSync(file, [
      line({ kind: 'software', subject: '/usr/bin/curl', group: 'example.com', firstSeen: new Date(T0).toISOString(),
        lastSeen: new Date(T0 + 4 * DAY).toISOString(), count: 5 }),
      '',
      line({ kind: 'software', subject: '/usr/bin/curl', group: 'example.com', firstSeen: new Date(T0 + 4 * DAY).toISOString(),
        lastSeen: new Date(T0 + 20 * DAY).toISOString(), count: 1 }),
      line({ kind: 'host', subject: 'h9', group: 'example.com', firstSeen: T0, lastSeen: T0, count: 1 }),
    ].join('\n') + '\n');
    assert.deepEqual(await a.import(file), { lines: 3, created: 1, merged: 2 });
    const [curl] = await collect(a.list({ kind: 'software', subject: '/usr/bin/curl', group: 'example.com' }));
    assert.deepEqual(curl, { kind: 'software', subject: '/usr/bin/curl', group: 'example.com',
      firstSeen: T0, lastSeen: T0 + 20 * DAY, count: 2 + 5 + 1 });
    assert.equal((await collect(a.list({ kind: 'host', subject: 'h9' }))).length, 1);
  });

  it('a bad import line fails with its line number and writes nothing', async () => {
    const a = await openAdmin();
    const before = await collect(a.list());
    const file = path.join(root, 'bad.jsonl');
    const good = JSON.stringify({ kind: 'host', subject: 'h7', group: 'g.example', firstSeen: T0, lastSeen: T0, count: 1 });
    fs.writeFileSync(file, `${good}\n${good}\n{"kind":"host","subject":"h7","group":"g.example","firstSeen":"yesterday","lastSeen":0,"count":1}\n`);
    await assert.rejects(a.import(file), (err: unknown) => {
      assert.ok(err instanceof BaselineImportError);
      assert.equal(err.line, 3);
      assert.match(err.userMessage, /line 3: firstSeen must be an ISO 8601 time/);
      return true;
    });
    fs.writeFileSync(file, `${good}\nnot json\n`);
    await assert.rejects(a.import(file), /line 2: not JSON/);
    fs.writeFileSync(file, JSON.stringify({ kind: 'host', subject: 'h', group: 'g', firstSeen: T0 + 1, lastSeen: T0, count: 1 }) + '\n');
    await assert.rejects(a.import(file), /line 1: firstSeen is after lastSeen/);
    assert.deepEqual(await collect(a.list()), before);
  });

  it('prune deletes entries last seen before the window', async () => {
    const a = await openAdmin();
    // now = T0 + 100 d, window 93 d: cutoff T0 + 7 d keeps only h1 / example.net (T0 + 10 d).
    assert.equal(await a.prune(T0 + 100 * DAY, 93 * DAY), 7);
    const left = await collect(a.list());
    assert.deepEqual(left.map((e) => `${e.kind}:${e.subject}:${e.group}`), ['host:h1:example.net']);
    assert.equal(await a.prune(T0 + 100 * DAY, 93 * DAY), 0);
  });

  it('stats counts kinds, subjects, groups, the last-seen range and the learning period', async () => {
    const a = await openAdmin();
    const s = await a.stats(24 * 3600_000);
    assert.deepEqual(s.entries, { host: 4, software: 4 });
    assert.equal(s.hosts, 2);
    assert.equal(s.software, 3);
    assert.equal(s.groups, 3);
    assert.equal(s.oldestLastSeen, T0 + 1 * DAY);
    assert.equal(s.newestLastSeen, T0 + 10 * DAY);
    assert.equal(s.learningStart, T0);
    assert.equal(s.learningEnd, T0 + DAY);
  });

  it('refuses a directory without a baseline unless creating (import)', async () => {
    await assert.rejects(BaselineAdmin.open(path.join(root, 'nope')), /no baseline database there/);
    assert.equal(fs.existsSync(path.join(root, 'nope')), false);
  });

  it('says the agent holds the lock, naming the LOCK file and the fix', async () => {
    const b = await Baseline.open({ dir, windowMs: 90 * DAY, learningPeriodMs: 0, now: () => T0 });
    try {
      await assert.rejects(BaselineAdmin.open(dir), (err: Error & { reason?: string }) => {
        assert.equal(err.reason, 'locked');
        assert.ok(err.message.includes(path.join(dir, 'LOCK')), err.message);
        assert.match(err.message, /stop the agent first/);
        return true;
      });
    } finally {
      await b.close();
    }
  });
});
