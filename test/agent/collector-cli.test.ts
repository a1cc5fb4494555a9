// `egresswatch collector` as a process: serves /healthz, accepts a batch from an agent with its
// token, refuses one without, and answers the query API.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/env.js';

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function request(port: number, method: string, p: string, body?: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers, timeout: 3000 }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => { b += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end(body);
  });
}

describe('egresswatch collector (CLI)', function () {
  this.timeout(30_000);
  let dir = '';
  let child: ChildProcess | undefined;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-collector-cli-')); });
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('receives, deduplicates and serves alerts; refuses an unknown token', async () => {
    const port = 30000 + Math.floor(Math.random() * 20000);
    fs.writeFileSync(path.join(dir, 'tokens'), 'web-1 s3cret-token-1\n');
    child = spawn(process.execPath, [CLI, 'collector', '--listen', `127.0.0.1:${port}`, '--state-dir', path.join(dir, 'db'),
      '--tokens-file', path.join(dir, 'tokens'), '--alerts-file', path.join(dir, 'alerts.json'), '--log-level', 'error'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && (await request(port, 'GET', '/healthz')).status !== 200; i++) await sleep(100);
    assert.equal((await request(port, 'GET', '/healthz')).status, 200);
    const alert = { '@timestamp': '2026-12-04T12:00:00.000Z', event: { id: 'id-1', kind: 'alert' }, host: { name: 'web-1' },
      egresswatch: { domain_group: 'example.com', novel_for: ['host'] } };
    assert.equal((await request(port, 'POST', '/api/alerts', JSON.stringify(alert) + '\n', 'wrong')).status, 401);
    assert.equal((await request(port, 'POST', '/api/alerts', JSON.stringify(alert) + '\n', 's3cret-token-1')).status, 200);
    assert.equal((await request(port, 'POST', '/api/alerts', JSON.stringify(alert) + '\n', 's3cret-token-1')).status, 200);
    const got = JSON.parse((await request(port, 'GET', '/api/alerts', undefined, 's3cret-token-1')).body);
    assert.equal(got.alerts.length, 1, 'deduplicated by event.id');
    assert.ok(got.alerts[0].egresswatch.novel_for.includes('deployment'));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
    assert.equal(code, 0);
  });

  it('names a missing required flag and exits non-zero', async () => {
    const r = spawn(process.execPath, [CLI, 'collector', '--listen', '127.0.0.1:1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    r.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    const code = await new Promise<number | null>((res) => r.once('exit', (c) => res(c)));
    assert.notEqual(code, 0);
    assert.match(err, /state-dir/);
    assert.ok(!/\n\s+at /.test(err), err);
  });

  it('documents --tls-client-ca in its help, and refuses it without --tls-cert, naming the flag', async () => {
    const help = spawnSync(process.execPath, [CLI, 'collector', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--tls-client-ca\s+Mutual TLS: require a client certificate/);
    fs.writeFileSync(path.join(dir, 'tokens2'), 'web-1 s3cret-token-1\n');
    const r = spawnSync(process.execPath, [CLI, 'collector', '--listen', '127.0.0.1:1', '--state-dir', path.join(dir, 'db2'),
      '--tokens-file', path.join(dir, 'tokens2'), '--alerts-file', path.join(dir, 'alerts2.json'), '--tls-client-ca', path.join(dir, 'ca.pem')],
    { encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--tls-client-ca needs --tls-cert/);
    assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
  });

  it('a missing tokens file or unusable TLS files: exit 2 (configuration), one line naming the file and the fix, not "unexpected"', () => {
    const base = ['collector', '--listen', '127.0.0.1:1', '--state-dir', path.join(dir, 'db3'), '--alerts-file', path.join(dir, 'alerts3.json')];
    const run = (...extra: string[]) => spawnSync(process.execPath, [CLI, ...base, ...extra], { encoding: 'utf8', timeout: 20_000 });
    const tokens = path.join(dir, 'tokens3');
    fs.writeFileSync(tokens, 'web-1 s3cret-token-1\n');
    const notPem = path.join(dir, 'not.pem');
    fs.writeFileSync(notPem, 'this is not PEM\n');
    const cases: [string[], RegExp][] = [
      [['--tokens-file', path.join(dir, 'no-tokens')], /^egresswatch: cannot read tokens file .*no-tokens: ENOENT \(fix: /],
      [['--tokens-file', tokens, '--tls-cert', path.join(dir, 'no.pem'), '--tls-key', notPem], /^egresswatch: cannot read --tls-cert .*no\.pem: ENOENT \(fix: /],
      [['--tokens-file', tokens, '--tls-cert', notPem, '--tls-key', notPem], /^egresswatch: cannot use the collector's TLS files \(--tls-cert .*not\.pem, --tls-key .*not\.pem\): .*\(fix: /],
    ];
    for (const [extra, pattern] of cases) {
      const r = run(...extra);
      assert.equal(r.status, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.ok(!r.stderr.includes('unexpected') && !/\n\s+at /.test(r.stderr), r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
