// DNS names kept across an agent restart: the name cache's saved entries and the file in the
// state directory (real files in a temp dir).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { NameCache } from '../../lib/dns/index.js';
import { createLogger } from '../../lib/config/index.js';
import { NAMES_FILE, loadNames, saveNames } from '../../lib/pipeline/names-file.js';

const T0 = Date.UTC(2026, 11, 5, 9, 0, 0);
const HOUR = 3_600_000;

function capture(): { logger: ReturnType<typeof createLogger>; lines: { level: string; message: string; names?: number }[] } {
  const lines: { level: string; message: string; names?: number }[] = [];
  const sink = new Writable({ write(c: Buffer, _e, done) { lines.push(JSON.parse(c.toString()) as { level: string; message: string }); done(); } });
  return { logger: createLogger('info', { stream: sink, text: false }), lines };
}

describe('dns/NameCache entries and restore', () => {
  it('gives back what it held, with its deadlines, alternatives and resolver; the restored cache answers the same', () => {
    const a = new NameCache({ retentionMs: HOUR });
    a.add('203.0.113.10', ['api.example.com', 'edge.cdn.example.net'], 300, T0, '10.0.0.53');
    a.add('203.0.113.10', ['www.example.org'], 60, T0 + 1000);
    a.add('192.0.2.5', ['files.example.org'], 30, T0 + 2000);
    const saved = JSON.parse(JSON.stringify(a.entries(T0 + 5000))) as unknown[];
    assert.equal(saved.length, 2);
    const b = new NameCache({ retentionMs: HOUR });
    assert.equal(b.restore(saved, T0 + 10_000), 2);
    assert.deepEqual(b.lookup('203.0.113.10', T0 + 10_000), a.lookup('203.0.113.10', T0 + 10_000));
    assert.equal(b.lookup('192.0.2.5', T0 + 10_000)?.name, 'files.example.org');
  });

  it('skips what has expired by now, what is malformed, and addresses answered since', () => {
    const a = new NameCache({ retentionMs: 1000 });
    a.add('203.0.113.1', ['old.example.com'], 1, T0);
    a.add('203.0.113.2', ['kept.example.com'], 3600, T0);
    const saved: unknown[] = [...a.entries(T0), null, 7, { ip: '203.0.113.3', chain: [], alternatives: [], answeredAt: T0, ttl: 1, expiresAt: T0 + HOUR },
      { ip: '203.0.113.4', chain: ['x.example'], alternatives: 'no', answeredAt: T0, ttl: 1, expiresAt: T0 + HOUR }];
    const b = new NameCache();
    b.add('203.0.113.2', ['newer.example.com'], 60, T0 + 3000);
    assert.equal(b.restore(saved, T0 + 5000), 0, 'one expired (1 s TTL + 1 s), one answered since, three malformed');
    assert.equal(b.lookup('203.0.113.2', T0 + 5000)?.name, 'newer.example.com');
    assert.equal(b.lookup('203.0.113.1', T0 + 5000), undefined);
  });

  it('keeps its bound', () => {
    const a = new NameCache({ maxEntries: 10_000 });
    for (let i = 0; i < 50; i++) a.add(`198.51.100.${i}`, [`n${i}.example.com`], 300, T0 + i);
    const b = new NameCache({ maxEntries: 10 });
    b.restore(a.entries(T0 + 100), T0 + 100);
    assert.equal(b.size, 10);
    assert.equal(b.lookup('198.51.100.49', T0 + 100)?.name, 'n49.example.com', 'the most recent are kept');
  });
});

describe('pipeline/names-file', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-names-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('saves and restores at start; the file is not world-readable', async () => {
    const before = new NameCache();
    before.add('203.0.113.10', ['api.example.com'], 300, T0);
    const { logger, lines } = capture();
    assert.equal(await saveNames(dir, before, T0 + 1000), 1);
    assert.equal(fs.statSync(path.join(dir, NAMES_FILE)).mode & 0o777, 0o640);
    assert.equal(fs.existsSync(path.join(dir, `${NAMES_FILE}.tmp`)), false);
    const after = new NameCache();
    assert.equal(loadNames(dir, after, T0 + 60_000, logger), 1);
    assert.equal(after.lookup('203.0.113.10', T0 + 60_000)?.name, 'api.example.com');
    assert.ok(lines.some((l) => l.message === 'DNS names restored from the last run' && l.names === 1));
  });

  it('a first start (no file) says nothing; a damaged file is logged and left out', () => {
    const { logger, lines } = capture();
    assert.equal(loadNames(dir, new NameCache(), T0, logger), 0);
    assert.equal(lines.length, 0);
    fs.writeFileSync(path.join(dir, NAMES_FILE), '{"version":1,"entries":[');
    assert.equal(loadNames(dir, new NameCache(), T0, logger), 0);
    assert.ok(lines.some((l) => l.level === 'warn' && /not used/.test(l.message)));
  });

  it('a later save replaces the earlier one whole', async () => {
    const cache = new NameCache();
    cache.add('203.0.113.10', ['api.example.com'], 300, T0);
    assert.equal(await saveNames(dir, cache, T0), 1);
    cache.add('192.0.2.7', ['files.example.org'], 300, T0 + 1000);
    assert.equal(await saveNames(dir, cache, T0 + 2000), 2);
    const { logger } = capture();
    const after = new NameCache();
    assert.equal(loadNames(dir, after, T0 + 3000, logger), 2);
    assert.equal(after.lookup('192.0.2.7', T0 + 3000)?.name, 'files.example.org');
  });

  it('a state directory it cannot write: the error returned, no temporary file left, nothing thrown', async () => {
    const notDir = path.join(dir, 'a-file');
    fs.writeFileSync(notDir, '');
    const r = await saveNames(notDir, new NameCache(), T0);
    assert.ok(r instanceof Error && /ENOTDIR/.test(r.message), String(r));
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro);
    fs.writeFileSync(path.join(ro, `${NAMES_FILE}.tmp`), 'x');
    fs.mkdirSync(path.join(ro, NAMES_FILE)); // rename of a file over a directory fails
    assert.ok((await saveNames(ro, new NameCache(), T0)) instanceof Error);
    assert.equal(fs.existsSync(path.join(ro, `${NAMES_FILE}.tmp`)), false, 'the temporary file is removed');
  });
});
