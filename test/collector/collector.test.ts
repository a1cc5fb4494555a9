// The reference collector: auth, limits, validation, dedup, deployment novelty, query API,
// TLS with a forwarder, and the end-to-end kill -9 run (every alert arrives exactly once).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Collector } from '../../lib/collector/index.js';
import { HttpForwarder } from '../../lib/outputs/http-forwarder.js';
import { Spool } from '../../lib/outputs/spool.js';
import { REPO_ROOT, haveCommand, requirePrereq } from '../helpers/env.js';
import { TOKEN, collectorAt, fileLines, makeAlert, makeEnv, waitFor, type Env } from './helpers.js';

async function call(port: number, method: string, p: string, body?: Buffer | string, headers: Record<string, string> = {}):
Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method, body, headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
  return { status: res.status, json: await res.json() as Record<string, unknown> };
}
const ndjson = (alerts: object[]): string => alerts.map((a) => JSON.stringify(a)).join('\n') + '\n';
type Alerts = { alerts: { event: { id: string }; egresswatch: { novel_for: string[] } }[]; next: string | null };

describe('collector', () => {
  let env: Env;
  let c: Collector | undefined;
  beforeEach(() => {
    env = makeEnv();
  });
  afterEach(async () => {
    await c?.close();
    c = undefined;
    env.cleanup();
  });

  it('needs a known bearer token; /healthz does not', async () => {
    c = await collectorAt(env);
    assert.equal((await call(c.port, 'POST', '/api/alerts', ndjson([makeAlert(1)]), { authorization: 'Bearer nope' })).status, 401);
    assert.equal((await call(c.port, 'GET', '/api/alerts', undefined, { authorization: '' })).status, 401);
    assert.equal((await call(c.port, 'GET', '/healthz', undefined, { authorization: '' })).status, 200);
    assert.equal(fileLines(env.alertsFile).length, 0);
  });

  it('stores, deduplicates by event.id, marks deployment novelty, survives a restart', async () => {
    c = await collectorAt(env);
    const r1 = await call(c.port, 'POST', '/api/alerts', ndjson([makeAlert(0, 'a.com'), makeAlert(1, 'a.com', 'web-2'), makeAlert(0, 'a.com')]));
    assert.deepEqual(r1.json, { accepted: 2, duplicates: 1 });
    const gz = zlib.gzipSync(ndjson([makeAlert(1, 'a.com'), makeAlert(2, 'b.com')]));
    const r2 = await call(c.port, 'POST', '/api/alerts', gz, { 'content-encoding': 'gzip' });
    assert.deepEqual(r2.json, { accepted: 1, duplicates: 1 });
    await c.close();
    c = await collectorAt(env);
    assert.deepEqual((await call(c.port, 'POST', '/api/alerts', ndjson([makeAlert(2, 'b.com')]))).json, { accepted: 0, duplicates: 1 });
    const lines = fileLines(env.alertsFile) as unknown as Alerts['alerts'];
    assert.deepEqual(lines.map((a) => a.event.id), ['ev-0', 'ev-1', 'ev-2']);
    assert.deepEqual(lines.map((a) => a.egresswatch.novel_for), [['host', 'deployment'], ['host'], ['host', 'deployment']]);
  });

  it('rejects bad bodies: 400 naming the line, 413 over the limit (also after gunzip)', async () => {
    c = await collectorAt(env, 0, { maxBodyBytes: 2000 });
    const bad = ndjson([makeAlert(1)]) + '{"event":{"id":"x"},"@timestamp":"2026-01-01T00:00:00Z","host":{"name":"h"}}\n';
    const r = await call(c.port, 'POST', '/api/alerts', bad);
    assert.equal(r.status, 400);
    assert.match(String(r.json.error), /line 2: egresswatch\.domain_group/);
    assert.match(String((await call(c.port, 'POST', '/api/alerts', 'not json\n')).json.error), /line 1: not JSON/);
    assert.equal((await call(c.port, 'POST', '/api/alerts', 'x'.repeat(3000))).status, 413);
    const bomb = zlib.gzipSync(ndjson([{ ...makeAlert(3), pad: ' '.repeat(50_000) }]));
    assert.ok(bomb.length < 2000);
    assert.equal((await call(c.port, 'POST', '/api/alerts', bomb, { 'content-encoding': 'gzip' })).status, 413);
    assert.equal(fileLines(env.alertsFile).length, 0, 'a rejected batch stores nothing');
  });

  it('answers queries with filters and a cursor', async () => {
    c = await collectorAt(env);
    const alerts = Array.from({ length: 25 }, (_, i) => makeAlert(i, `g${i % 5}.com`, i % 2 ? 'web-odd' : 'web-even'));
    await call(c.port, 'POST', '/api/alerts', ndjson(alerts));
    const ids: string[] = [];
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const r = (await call(c.port, 'GET', `/api/alerts?limit=10&cursor=${cursor}`)).json as unknown as Alerts;
      ids.push(...r.alerts.map((a) => a.event.id));
      if (r.next === null) break;
      cursor = r.next;
    }
    assert.deepEqual(ids, alerts.map((a) => (a.event as { id: string }).id));
    const q = async (s: string): Promise<string[]> => ((await call(c!.port, 'GET', `/api/alerts?${s}`)).json as unknown as Alerts).alerts.map((a) => a.event.id);
    assert.deepEqual(await q('group=g1.com&host=web-odd'), ['ev-1', 'ev-11', 'ev-21']);
    assert.deepEqual(await q('novelty=deployment'), ['ev-0', 'ev-1', 'ev-2', 'ev-3', 'ev-4']);
    assert.deepEqual(await q('since=2026-01-01T00:00:23Z'), ['ev-23', 'ev-24']);
    assert.equal((await q('software=curl')).length, 25);
    assert.equal((await q('software=wget')).length, 0);
    assert.equal((await call(c.port, 'GET', '/api/alerts?since=yesterday')).status, 400);
  });

  it('takes alerts from a forwarder over TLS with a self-signed certificate', async function () {
    requirePrereq(this, haveCommand('openssl'), 'openssl');
    const cert = path.join(env.dir, 'cert.pem');
    const key = path.join(env.dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    c = await collectorAt(env, 0, { tlsCert: cert, tlsKey: key });
    const spool = await Spool.open({ dir: path.join(env.dir, 'spool') });
    const url = `https://127.0.0.1:${c.port}/api/alerts`;
    const untrusting = new HttpForwarder({ url, spool, name: 'no-ca', tokenFile: env.tokenFile, batchMaxWaitMs: 20, backoff: { baseMs: 20, capMs: 100 } });
    const fwd = new HttpForwarder({ url, spool, name: 'tls', tokenFile: env.tokenFile, caFile: cert, batchMaxWaitMs: 20 });
    untrusting.start();
    fwd.start();
    for (let i = 0; i < 3; i++) await spool.append(makeAlert(i));
    await waitFor(() => fwd.stats.sent === 3 && untrusting.stats.failures > 0, 5000, 'TLS delivery');
    await untrusting.stop();
    await fwd.stop();
    await spool.close();
    assert.equal(untrusting.stats.sent, 0);
    assert.match(untrusting.stats.lastError ?? '', /certificate/i);
    assert.equal(fileLines(env.alertsFile).length, 3);
  });

  it('end to end: collector goes down, agent killed -9, both come back; every alert arrives exactly once', async function () {
    this.timeout(40_000);
    c = await collectorAt(env);
    const port = c.port;
    const spoolDir = path.join(env.dir, 'spool');
    const lib = path.join(REPO_ROOT, 'dist', 'lib', 'outputs');
    // The child is the agent: it appends 0..59 while the collector is up, then 60..119 when told
    // (after the collector went down), printing each index once its append resolved.
    const code = `import { Spool } from ${JSON.stringify(path.join(lib, 'spool.js'))};
      import { HttpForwarder } from ${JSON.stringify(path.join(lib, 'http-forwarder.js'))};
      const [dir, url, tokenFile] = process.argv.slice(1);
      const spool = await Spool.open({ dir });
      new HttpForwarder({ url, spool, tokenFile, batchMaxWaitMs: 10, batchMaxCount: 7, backoff: { baseMs: 10, capMs: 50 } }).start();
      const add = (i) => spool.append({ '@timestamp': new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), event: { id: 'e2e-' + i },
        host: { name: 'agent-host' }, egresswatch: { domain_group: 'g' + (i % 7) + '.example', novel_for: ['host'] } });
      for (let i = 0; i < 60; i++) { await add(i); process.stdout.write(i + '\\n'); }
      process.stdin.once('data', async () => {
        for (let i = 60; i < 120; i++) { await add(i); process.stdout.write(i + '\\n'); }
      });
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code, spoolDir, `http://127.0.0.1:${port}/api/alerts`, env.tokenFile],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      await waitFor(() => fileLines(env.alertsFile).length >= 30, 20_000, 'first alerts at the collector');
      await c.close();
      c = undefined;
      child.stdin.write('more\n');
      await waitFor(() => out.includes('\n119\n'), 20_000, 'child appends');
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    c = await collectorAt(env, port);
    const before = fileLines(env.alertsFile).length;
    assert.ok(before >= 30 && before <= 60, `${before} alerts before the outage`);
    const spool = await Spool.open({ dir: spoolDir });
    const fwd = new HttpForwarder({ url: `http://127.0.0.1:${port}/api/alerts`, spool, tokenFile: env.tokenFile, batchMaxWaitMs: 10, batchMaxCount: 50 });
    fwd.start();
    await waitFor(() => spool.depth('http') === 0, 10_000, 'spool drained');
    await fwd.stop();
    await spool.close();
    const fileIds = fileLines(env.alertsFile).map((a) => (a.event as { id: string }).id);
    const want = Array.from({ length: 120 }, (_, i) => `e2e-${i}`);
    assert.deepEqual(fileIds, want);
    const api = (await call(c.port, 'GET', '/api/alerts?limit=1000')).json as unknown as Alerts;
    assert.deepEqual(api.alerts.map((a) => a.event.id), want);
    assert.equal(api.alerts.filter((a) => a.egresswatch.novel_for.includes('deployment')).length, 7);
  });
});
