// The systemd unit and scripts/install-systemd.sh. The unit is checked field by field
// (always) and by `systemd-analyze verify` (where systemd's tools are installed). The installer
// runs twice into a staging root (--root), as root: it must create the system user on the
// real machine, copy a self-sufficient app, never overwrite a config, and change nothing the
// second time.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, corpusFile, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { describeResult, getAccount, runSync } from './run.js';
import { parseUnit, unitList, unitValue } from './unit-file.js';

const UNIT_PATH = path.join(REPO_ROOT, 'systemd', 'egresswatch.service');
const INSTALLER = path.join(REPO_ROOT, 'scripts', 'install-systemd.sh');
const EXAMPLE_CONFIG = path.join(REPO_ROOT, 'deploy', 'egresswatch.example.yaml');
const CAPS = ['CAP_NET_RAW', 'CAP_NET_ADMIN', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH'];

describe('deploy: systemd unit', () => {
  const unit = parseUnit(fs.readFileSync(UNIT_PATH, 'utf8'));

  it('runs as the egresswatch user with exactly the four capabilities', () => {
    assert.equal(unitValue(unit, 'Service', 'User'), 'egresswatch');
    assert.equal(unitValue(unit, 'Service', 'Group'), 'egresswatch');
    assert.deepEqual(unitList(unit, 'Service', 'AmbientCapabilities').sort(), [...CAPS].sort());
    assert.deepEqual(unitList(unit, 'Service', 'CapabilityBoundingSet').sort(), [...CAPS].sort());
    assert.equal(unitValue(unit, 'Service', 'NoNewPrivileges'), 'yes');
  });

  it('is sandboxed but can still capture, read /proc and run V8', () => {
    const want: Record<string, string> = {
      ProtectSystem: 'strict', ProtectHome: 'read-only', PrivateTmp: 'yes',
      ProtectKernelTunables: 'yes', ProtectKernelModules: 'yes', ProtectKernelLogs: 'yes',
      ProtectControlGroups: 'yes', ProtectClock: 'yes', ProtectHostname: 'yes',
      StateDirectory: 'egresswatch', LogsDirectory: 'egresswatch', ConfigurationDirectory: 'egresswatch',
      Restart: 'on-failure', ExecReload: '/bin/kill -HUP $MAINPID',
    };
    for (const [key, value] of Object.entries(want)) assert.equal(unitValue(unit, 'Service', key), value, key);
    const families = unitList(unit, 'Service', 'RestrictAddressFamilies');
    for (const f of ['AF_PACKET', 'AF_NETLINK', 'AF_INET', 'AF_INET6', 'AF_UNIX']) assert.ok(families.includes(f), `RestrictAddressFamilies lacks ${f}`);
    assert.ok(!families.some((f) => f.startsWith('~')), 'RestrictAddressFamilies must be an allow list');
    // V8's JIT writes and then executes its code pages; this setting kills node at start.
    assert.equal(unitValue(unit, 'Service', 'MemoryDenyWriteExecute'), undefined);
    // Either would hide other users' processes from the agent and break attribution.
    assert.equal(unitValue(unit, 'Service', 'ProtectProc'), undefined);
    assert.equal(unitValue(unit, 'Service', 'ProcSubset'), undefined);
    assert.equal(unitValue(unit, 'Install', 'WantedBy'), 'multi-user.target');
  });

  it('starts the agent on the directories systemd creates', () => {
    const exec = unitValue(unit, 'Service', 'ExecStart') ?? '';
    // V8's young generation as on a machine with room (a memory limit shrinks it to 1 MB).
    assert.match(exec, /^\/usr\/bin\/node --max-semi-space-size=16 \/opt\/egresswatch\/dist\/agent\/cli\.js run /);
    assert.match(exec, /--state-dir \/var\/lib\/egresswatch( |$)/);
    assert.match(exec, /--alerts-file \/var\/log\/egresswatch\/alerts\.json( |$)/);
    assert.equal(unitValue(unit, 'Service', 'Environment'), 'EGRESSWATCH_CONFIG=/etc/egresswatch/egresswatch.yaml');
    // The installer swaps this path for the real one; the agent itself must exist in the build.
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'agent', 'cli.js')), 'dist/agent/cli.js not built');
  });

  it('passes systemd-analyze verify', function () {
    // The issue asks for verification "where systemd is present". Without systemd-analyze
    // the field-by-field checks above are the structural check, so this is a skip even
    // under CI=true, not a failure.
    if (!haveCommand('systemd-analyze')) this.skip();
    const r = runSync('systemd-analyze', ['verify', UNIT_PATH], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, describeResult(r));
    assert.doesNotMatch(r.stderr, /egresswatch\.service:\d+/, `a unit line was flagged:\n${r.stderr}`);
  });
});

describe('deploy: install-systemd.sh', function () {
  this.timeout(120_000);
  let root = '';

  before(function () {
    requirePrereq(this, isRoot(), 'root (the installer creates a system user)');
    requirePrereq(this, haveCommand('useradd') && haveCommand('getent'), 'useradd and getent');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-install-'));
  });

  after(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const install = (...extra: string[]) => runSync('sh', [INSTALLER, '--root', root, ...extra], { timeoutMs: 90_000 });
  const unitFile = () => path.join(root, 'etc', 'systemd', 'system', 'egresswatch.service');
  const confFile = () => path.join(root, 'etc', 'egresswatch', 'egresswatch.yaml');

  it('first run: user, app, unit, config and directories', () => {
    const r = install('--no-systemctl');
    assert.equal(r.code, 0, describeResult(r));
    const user = getAccount('egresswatch');
    assert.ok(user, 'egresswatch user missing');
    assert.ok(user.uid > 0 && user.uid < 1000, `not a system uid: ${user.uid}`);
    assert.match(user.shell, /nologin|false$/);
    assert.equal(runSync('getent', ['group', 'egresswatch']).code, 0, 'egresswatch group missing');

    const node = fs.realpathSync(process.execPath);
    const unit = parseUnit(fs.readFileSync(unitFile(), 'utf8'));
    assert.equal(unitValue(unit, 'Service', 'ExecStart')?.split(' ').slice(0, 3).join(' '), `${node} --max-semi-space-size=16 /opt/egresswatch/dist/agent/cli.js`);
    assert.ok(fs.existsSync(path.join(root, 'opt', 'egresswatch', 'dist', 'agent', 'cli.js')));
    assert.ok(!fs.existsSync(path.join(root, 'opt', 'egresswatch', 'dist', 'test')), 'compiled tests copied');
    assert.equal(fs.readFileSync(confFile(), 'utf8'), fs.readFileSync(EXAMPLE_CONFIG, 'utf8'));
    assert.equal(fs.statSync(confFile()).mode & 0o777, 0o640);
    for (const dir of ['var/lib/egresswatch', 'var/log/egresswatch']) {
      const st = fs.statSync(path.join(root, dir));
      assert.equal(st.uid, user.uid, `${dir} owner`);
      assert.equal(st.mode & 0o777, 0o750, `${dir} mode`);
    }
    // The logrotate stanza: installed, and its `create` gives the new files to the user the
    // unit runs as (root-owned 0640 files would be EACCES for the agent after one rotation).
    const stanza = fs.readFileSync(path.join(root, 'etc', 'logrotate.d', 'egresswatch'), 'utf8');
    const runAs = unitValue(unit, 'Service', 'User');
    const group = runSync('getent', ['group', 'adm']).code === 0 ? 'adm' : 'egresswatch';
    assert.deepEqual(stanza.match(/^\s*create\s+(\S+)\s+(\S+)\s+(\S+)\s*$/m)?.slice(1), ['0640', runAs, group]);
    assert.match(stanza, /^\s*prerotate\b[^]*kill -s USR2 --kill-whom=main egresswatch\.service[^]*\.alerts\.json\.held/m);
    assert.equal(fs.statSync(path.join(root, 'etc', 'logrotate.d', 'egresswatch')).mode & 0o777, 0o644);
    if (haveCommand('logrotate')) {
      // logrotate itself: the installed stanza on the installed (egresswatch-owned, 0750) log
      // directory creates the new alerts file for the agent's uid.
      const logDir = path.join(root, 'var', 'log', 'egresswatch');
      fs.writeFileSync(path.join(logDir, 'alerts.json'), '{}\n');
      const conf = path.join(root, 'logrotate-check.conf');
      fs.writeFileSync(conf, stanza.replaceAll('/var/log/egresswatch/', `${logDir}/`), { mode: 0o644 });
      const lr = runSync('logrotate', ['-d', '-f', '-s', path.join(root, 'logrotate.state'), conf], { timeoutMs: 30_000 });
      assert.equal(lr.code, 0, describeResult(lr));
      assert.match(lr.stdout + lr.stderr, new RegExp(`creating new \\S*alerts\\.json mode = 0640 uid = ${user.uid} `));
      fs.rmSync(path.join(logDir, 'alerts.json'));
      fs.rmSync(conf);
    }
  });

  it('second run keeps an edited config, changes nothing else and enables the unit offline', () => {
    const edited = `# edited by the operator\n${fs.readFileSync(confFile(), 'utf8').replace('logLevel: info', 'logLevel: debug')}`;
    assert.notEqual(edited, fs.readFileSync(EXAMPLE_CONFIG, 'utf8'));
    fs.writeFileSync(confFile(), edited);
    const unitBefore = fs.readFileSync(unitFile(), 'utf8');
    const r = install();
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stdout, /kept the existing/);
    assert.equal(fs.readFileSync(confFile(), 'utf8'), edited);
    assert.equal(fs.readFileSync(unitFile(), 'utf8'), unitBefore);
    if (haveCommand('systemctl')) {
      // `systemctl --root` writes the [Install] WantedBy= symlink without a running systemd.
      const wants = path.join(root, 'etc', 'systemd', 'system', 'multi-user.target.wants', 'egresswatch.service');
      assert.equal(fs.readlinkSync(wants), '/etc/systemd/system/egresswatch.service');
    }
  });

  it('the installed copy runs on its own with the installed default config', function () {
    const pcap = corpusFile('tcpdump/dns_tcp.pcap');
    requirePrereq(this, fs.existsSync(pcap), `corpus capture ${pcap}`);
    const scratch = path.join(root, 'scratch');
    const cli = path.join(root, 'opt', 'egresswatch', 'dist', 'agent', 'cli.js');
    const r = runSync(process.execPath, [cli, 'replay', '--config', confFile(), '--state-dir', path.join(scratch, 'state'),
      '--alerts-file', path.join(scratch, 'alerts.json'), '--stats-json', pcap], { timeoutMs: 30_000, cwd: os.tmpdir() });
    assert.equal(r.code, 0, describeResult(r));
    const stats = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { packets?: number };
    assert.ok((stats.packets ?? 0) > 0, `no packets replayed: ${r.stdout}`);
  });

  it('installed unit passes systemd-analyze verify', function () {
    if (!haveCommand('systemd-analyze')) this.skip(); // see the unit suite: structural checks stand in
    const r = runSync('systemd-analyze', ['verify', unitFile()], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, describeResult(r));
  });

  it('--app-dir set to the checkout runs it in place without copying', () => {
    const r = install('--no-systemctl', '--app-dir', REPO_ROOT);
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stdout, /in place/);
    const exec = unitValue(parseUnit(fs.readFileSync(unitFile(), 'utf8')), 'Service', 'ExecStart') ?? '';
    assert.ok(exec.includes(`${REPO_ROOT}/dist/agent/cli.js run`), exec);
  });
});
