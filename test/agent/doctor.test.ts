// `egresswatch doctor` as a child process, as an operator runs it after installing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, isRoot, requirePrereq } from '../helpers/env.js';

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');
const LINE = /^(ok|warn|FAIL)\s{2,}(\S.*?)\s{2,}(.*)$/;

function doctor(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EGRESSWATCH_')));
  const r = spawnSync(process.execPath, [CLI, 'doctor', ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('agent CLI: doctor (compiled, as a child process)', () => {
  let dir: string;
  before(function () {
    requirePrereq(this, fs.existsSync(CLI), 'dist/agent/cli.js built (npx tsc)');
    requirePrereq(this, isRoot(), 'root (capture and /proc checks)');
  });
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egw-doctor-cli-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('as root on lo with temp dirs: exit 0, every check ok or warn', () => {
    const r = doctor(['--state-dir', path.join(dir, 'state'), '--alerts-file', path.join(dir, 'log', 'alerts.json'), '--interface', 'lo']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n');
    const checks = lines.filter((l) => LINE.test(l));
    assert.equal(checks.length, lines.length - 1, r.stdout); // plus the summary line
    const names = checks.map((l) => LINE.exec(l)![2].trim());
    for (const n of ['capabilities', 'libpcap', 'capture lo', 'proc access', 'kernel tracing', 'state dir', 'leveldb', 'baseline', 'alerts file', 'clock', 'collector']) {
      assert.ok(names.includes(n), `check ${n} missing: ${r.stdout}`);
    }
    for (const l of checks) assert.ok(!l.startsWith('FAIL'), l);
    for (const l of checks.filter((c) => c.startsWith('warn'))) assert.match(l, /\(fix: .+\)$/);
    assert.match(lines[lines.length - 1], /^egresswatch can run here/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'state')), []); // scratch LevelDB removed
  });

  it('--json: one object, canRun true, the same checks', () => {
    const r = doctor(['--json', '--state-dir', path.join(dir, 'state'), '--alerts-file', path.join(dir, 'alerts.json'), '--interface', 'lo']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.canRun, true);
    assert.ok(report.checks.length >= 10);
    for (const c of report.checks) assert.ok(['ok', 'warn'].includes(c.status), JSON.stringify(c));
  });

  it('a state dir under a regular file: exit 1 and a FAIL line naming it with a fix', () => {
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
    const bad = path.join(dir, 'plain', 'state');
    const r = doctor(['--state-dir', bad, '--alerts-file', path.join(dir, 'alerts.json'), '--interface', 'lo']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const fails = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
    assert.equal(fails.length, 1, r.stdout);
    assert.match(fails[0], /^FAIL\s+state dir\s+.*plain\/state.*ENOTDIR.*\(fix: .*--state-dir.*\)$/);
    assert.match(r.stdout, /cannot run here: 1 check\(s\) failed/);
  });

  it('a --collector-url that refuses connections: a warn line with a fix, still exit 0', async () => {
    // A port that was just free: bound, then closed, so nothing listens on it.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const r = doctor(['--state-dir', path.join(dir, 's'), '--alerts-file', path.join(dir, 'a.json'), '--interface', 'lo',
      '--collector-url', `http://127.0.0.1:${port}/api/v1/alerts`]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^warn\\s+collector\\s+http://127\\.0\\.0\\.1:${port} not reachable: .*ECONNREFUSED.*\\(fix: `, 'm'));
  });

  it('says how many packets the kernel ring holds, and warns when a snap length leaves it small', () => {
    const args = ['--state-dir', path.join(dir, 's'), '--alerts-file', path.join(dir, 'a.json'), '--interface', 'lo'];
    const byDefault = doctor(args);
    assert.equal(byDefault.status, 0, byDefault.stdout + byDefault.stderr);
    assert.match(byDefault.stdout, /^ok\s+capture lo\s+opened and closed \(link type \d+\); the kernel ring holds about 8192 packets$/m);
    const big = doctor([...args, '--snap-length', '65535']);
    assert.equal(big.status, 0, big.stdout + big.stderr);
    assert.match(big.stdout, /^warn\s+capture lo\s+.*the kernel ring holds about 512 packets: a burst of more .* is dropped\s+\(fix: lower --snap-length .*\)$/m);
  });

  it('an interface that does not exist: exit 1 and a FAIL capture line', () => {
    const r = doctor(['--state-dir', path.join(dir, 's'), '--alerts-file', path.join(dir, 'a.json'), '--interface', 'egwnope0']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAIL\s+capture egwnope0\s+cannot capture on interface egwnope0.*\(fix: /m);
  });
});
