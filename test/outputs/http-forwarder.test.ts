// The HTTP forwarder against the real collector (through a fault-injecting proxy where a
// status the collector never sends is needed): batching, gzip, token, what is retried.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Collector } from '../../lib/collector/index.js';
import { Backoff, parseRetryAfter } from '../../lib/outputs/backoff.js';
import { HttpForwarder, type HttpForwarderOptions } from '../../lib/outputs/http-forwarder.js';
import { Spool } from '../../lib/outputs/spool.js';
import { collectorAt, faultProxy, fileLines, makeAlert, makeEnv, waitFor, type Env, type Proxy } from '../collector/helpers.js';

describe('outputs/http-forwarder', () => {
  let env: Env;
  let collector: Collector | undefined;
  let proxy: Proxy | undefined;
  let spool: Spool;
  let fwd: HttpForwarder | undefined;

  beforeEach(async () => {
    env = makeEnv();
    spool = await Spool.open({ dir: path.join(env.dir, 'spool') });
  });
  afterEach(async () => {
    await fwd?.stop();
    fwd = undefined;
    await spool.close();
    await proxy?.close();
    proxy = undefined;
    await collector?.close();
    collector = undefined;
    env.cleanup();
  });

  async function viaProxy(faults: Parameters<typeof faultProxy>[1] = [], extra: Partial<HttpForwarderOptions> = {}): Promise<HttpForwarder> {
    collector ??= await collectorAt(env, 0, { maxBodyBytes: 4000 });
    proxy = await faultProxy(collector.port, faults);
    fwd = new HttpForwarder({ url: `http://127.0.0.1:${proxy.port}/api/alerts`, spool, tokenFile: env.tokenFile,
      batchMaxWaitMs: 100, backoff: { baseMs: 20, capMs: 200 }, ...extra });
    return fwd;
  }

  it('batches by count, gzips, sends the bearer token; every alert reaches the collector once', async () => {
    for (let i = 0; i < 12; i++) await spool.append(makeAlert(i));
    (await viaProxy([], { batchMaxCount: 5 })).start();
    await waitFor(() => fwd!.stats.sent === 12, 5000, '12 sent');
    assert.equal(proxy!.requests.length, 3);
    assert.equal(fwd!.stats.batches, 3);
    for (const r of proxy!.requests) {
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.equal(r.headers['content-type'], 'application/x-ndjson');
      assert.equal(r.headers.authorization, 'Bearer tok-agent-1-0123456789');
      assert.equal(r.status, 200);
    }
    assert.deepEqual(fileLines(env.alertsFile).map((a) => (a.event as { id: string }).id), Array.from({ length: 12 }, (_, i) => `ev-${i}`));
    assert.equal(spool.depth(), 0);
  });

  it('batches by bytes (gzip off) and by time', async () => {
    for (let i = 0; i < 6; i++) await spool.append({ ...makeAlert(i), pad: 'p'.repeat(300) });
    (await viaProxy([], { gzip: false, batchMaxBytes: 1000, batchMaxWaitMs: 400 })).start();
    await waitFor(() => fwd!.stats.sent === 6, 5000, '6 sent');
    assert.ok(proxy!.requests.length >= 3, `requests ${proxy!.requests.length}`);
    assert.ok(proxy!.requests.every((r) => r.bytes <= 1000 + 100 && r.headers['content-encoding'] === undefined));
    const t0 = Date.now();
    await spool.append(makeAlert(100));
    await spool.append(makeAlert(101));
    const before = proxy!.requests.length;
    await waitFor(() => fwd!.stats.sent === 8, 5000, 'timed batch');
    assert.equal(proxy!.requests.length, before + 1, 'both alerts in one batch');
    assert.ok(proxy!.requests[before].at - t0 >= 300, `sent after ${proxy!.requests[before].at - t0} ms, wait is 400`);
  });

  for (const [what, status] of [['401 (unknown token)', 401], ['413 (too large)', 413], ['400 (invalid line)', 400]] as const) {
    it(`does not retry a ${what}; counts, acks and moves on`, async () => {
      if (status === 401) fs.writeFileSync(env.tokenFile, 'wrong-token');
      const bad = status === 413 ? { ...makeAlert(1), pad: 'z'.repeat(5000) }
        : status === 400 ? { event: { id: 'x' }, '@timestamp': '2026-01-01T00:00:00Z' } : makeAlert(1);
      await spool.append(bad);
      (await viaProxy([], { gzip: false })).start();
      await waitFor(() => fwd!.stats.rejected4xx === 1, 5000, 'rejection');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(proxy!.requests.length, 1);
      assert.equal(proxy!.requests[0].status, status);
      assert.equal(fwd!.stats.failures, 0);
      assert.equal(spool.depth(), 0);
      assert.match(fwd!.stats.lastError ?? '', new RegExp(`HTTP ${status}`));
    });
  }

  it('retries 503, then waits out 429 Retry-After before retrying', async () => {
    await spool.append(makeAlert(7));
    (await viaProxy([{ status: 503 }, { status: 429, headers: { 'retry-after': '1' } }])).start();
    await waitFor(() => fwd!.stats.sent === 1, 8000, 'delivery after faults');
    const r = proxy!.requests;
    assert.deepEqual(r.map((x) => x.status), [503, 429, 200]);
    assert.ok(r[2].at - r[1].at >= 950, `retried ${r[2].at - r[1].at} ms after 429 with Retry-After: 1`);
    assert.equal(fwd!.stats.failures, 2);
    assert.equal(fwd!.stats.retries, 2);
    assert.equal(fileLines(env.alertsFile).length, 1);
  });

  it('resends a batch whose answer was lost; the collector keeps one copy', async () => {
    for (let i = 0; i < 4; i++) await spool.append(makeAlert(i));
    (await viaProxy([{ status: 0, forwardThenDrop: true }])).start();
    await waitFor(() => fwd!.stats.sent === 4, 5000, 'delivery after a lost answer');
    assert.equal(proxy!.requests.length, 2);
    assert.equal(fwd!.stats.failures, 1);
    assert.equal(collector!.store.stats.duplicates, 4);
    assert.deepEqual(fileLines(env.alertsFile).map((a) => (a.event as { id: string }).id), ['ev-0', 'ev-1', 'ev-2', 'ev-3']);
  });

  it('a collector that hangs, then one that closes the connection: retried, every alert arrives once', async () => {
    for (let i = 0; i < 3; i++) await spool.append(makeAlert(i));
    (await viaProxy([{ status: 0, hang: true }, { status: 0, closeAtOnce: true }], { requestTimeoutMs: 300 })).start();
    await waitFor(() => fwd!.stats.sent === 3, 8000, 'delivery after a hang and a closed connection');
    assert.equal(proxy!.requests.length, 3, 'hung, closed, then delivered');
    assert.equal(fwd!.stats.failures, 2);
    assert.match(fwd!.stats.lastError ?? '', /.+/);
    assert.equal(spool.depth(), 0);
    assert.deepEqual(fileLines(env.alertsFile).map((a) => (a.event as { id: string }).id), ['ev-0', 'ev-1', 'ev-2']);
  });

  it('stop() sends what is pending without waiting out the batch window', async () => {
    (await viaProxy([], { batchMaxWaitMs: 30_000 })).start();
    await spool.append(makeAlert(1));
    await spool.append(makeAlert(2));
    const t0 = Date.now();
    await fwd!.stop();
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(fwd!.stats.sent, 2);
    assert.equal(spool.depth(), 0);
  });

  it('retries network errors with backoff until the collector comes up', async function () {
    this.timeout(20_000);
    const probe = await collectorAt(env);
    const port = probe.port;
    await probe.close();
    for (let i = 0; i < 3; i++) await spool.append(makeAlert(i));
    fwd = new HttpForwarder({ url: `http://127.0.0.1:${port}/api/alerts`, spool, tokenFile: env.tokenFile,
      batchMaxWaitMs: 50, backoff: { baseMs: 50, capMs: 400 } });
    fwd.start();
    await waitFor(() => fwd!.stats.failures >= 3, 10_000, 'three failed attempts');
    assert.equal(fwd.stats.sent, 0);
    assert.equal(spool.depth(), 3);
    collector = await collectorAt(env, port);
    await waitFor(() => fwd!.stats.sent === 3, 10_000, 'delivery after the collector came up');
    assert.ok(fwd.stats.retries >= 3);
    assert.equal(fileLines(env.alertsFile).length, 3);
  });
});

describe('outputs/http-forwarder configuration', () => {
  it('fails at construction naming the setting: unreadable caFile, bad URL', async () => {
    const env = makeEnv();
    const spool = await Spool.open({ dir: path.join(env.dir, 'spool') });
    try {
      assert.throws(() => new HttpForwarder({ url: 'https://127.0.0.1:1/api/alerts', spool, caFile: path.join(env.dir, 'nope.pem') }),
        /cannot read --collector-ca .*nope\.pem: ENOENT/);
      assert.throws(() => new HttpForwarder({ url: 'collector:8080', spool }), /must be http: or https:|is not a URL/);
    } finally {
      await spool.close();
      env.cleanup();
    }
  });
});

describe('outputs/backoff', () => {
  it('full jitter within an exponentially growing, capped window', () => {
    const b = new Backoff({ baseMs: 500, capMs: 60_000 }, () => 0.999999);
    const seen = Array.from({ length: 10 }, () => b.next());
    assert.deepEqual(seen.slice(0, 4), [499, 999, 1999, 3999]);
    assert.equal(seen[9], 59_999);
    const zero = new Backoff({ baseMs: 500, capMs: 60_000 }, () => 0);
    assert.equal(zero.next(), 0);
  });

  it('parses Retry-After as seconds or an HTTP date, capped', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('7', now), 7000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('999999', now), 3_600_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});
