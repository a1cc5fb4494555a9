// SIGHUP reloads the configuration without losing state: a suppression added to the config
// file takes effect in the running agent; a broken file is reported and the old one kept.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { connectOnce, sleep } from '../helpers/net.js';
import { REPO_ROOT, isRoot, requirePrereq } from '../helpers/env.js';

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');

function status(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
  });
}


describe('agent: SIGHUP reloads the configuration', function () {
  this.timeout(60_000);
  let dir = '';
  let agent: ChildProcess | undefined;
  const servers: net.Server[] = [];
  let stderr = '';

  before(function () {
    requirePrereq(this, isRoot(), 'root (live capture on lo)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-reload-'));
  });
  after(async () => {
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    for (const s of servers) s.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applies a new suppression on SIGHUP and keeps running on a broken file', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    for (const addr of ['127.0.0.7', '127.0.0.8']) {
      const srv = net.createServer((c) => c.once('data', () => setTimeout(() => c.end('ok\n'), 300)));
      await new Promise<void>((r) => srv.listen(port, addr, () => r()));
      servers.push(srv);
    }
    const conf = path.join(dir, 'egresswatch.yaml');
    fs.writeFileSync(conf, 'suppressions: []\n');
    const metrics = 40000 + Math.floor(Math.random() * 20000);
    const alertsFile = path.join(dir, 'alerts.json');
    agent = spawn(process.execPath, [CLI, 'run', '--config', conf, '--interface', 'lo', '--state-dir', path.join(dir, 'state'),
      '--alerts-file', alertsFile, '--learning-period', '0', '--alert-delay', '0', '--ptr', 'off',
      '--external-cidr', '127.0.0.7/32', '--external-cidr', '127.0.0.8/32', '--metrics-listen', `127.0.0.1:${metrics}`, '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout?.on('data', (d: Buffer) => { stderr += d.toString(); });
    agent.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    for (let i = 0; i < 100 && (await status(metrics)) !== 200; i++) await sleep(100);
    assert.equal(await status(metrics), 200, `agent did not become healthy: ${stderr}`);

    fs.writeFileSync(conf, "suppressions:\n  - { cidr: '127.0.0.7/32', comment: 'reload test' }\n");
    agent.kill('SIGHUP');
    for (let i = 0; i < 50 && !stderr.includes('configuration reloaded'); i++) await sleep(100);
    assert.match(stderr, /configuration reloaded/);
    await connectOnce('127.0.0.7', port);
    await connectOnce('127.0.0.8', port);
    await sleep(1500);
    const groups = fs.readFileSync(alertsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).egresswatch.domain_group);
    assert.deepEqual(groups, ['127.0.0.8'], stderr);

    fs.writeFileSync(conf, 'suppressions: [ { cidr: nope } \n');
    agent.kill('SIGHUP');
    for (let i = 0; i < 50 && !stderr.includes('configuration not reloaded'); i++) await sleep(100);
    assert.match(stderr, /configuration not reloaded/);
    assert.equal(await status(metrics), 200, 'still running after a broken reload');
    agent.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => agent!.once('exit', (c) => r(c)));
    assert.equal(code, 0, stderr);
  });
});
