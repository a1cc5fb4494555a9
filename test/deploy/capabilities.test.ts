// The capability set of the unit, proved on the real agent: run as an unprivileged user that
// holds exactly CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (setpriv,
// as systemd's AmbientCapabilities= + CapabilityBoundingSet= would), the agent captures on
// loopback and attributes a connection made by a process of ANOTHER user. Two controls show
// each half of the set is needed: without the /proc pair the same connection alerts but is
// not attributed; without any capability the agent stops at start with one line.
// Loopback only: --external-cidr 127.0.0.2/32 makes that loopback address "external".
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { type Account, Child, ensureSystemUser, freePort, httpStatus, runSync, sleep } from './run.js';

const AGENT_USER = 'egresswatch';
const CLIENT_USER = 'ewcapclient';
const ALL_FOUR = 'net_raw,net_admin,sys_ptrace,dac_read_search';
const CAPTURE_ONLY = 'net_raw,net_admin';
// capability(7) bit numbers: DAC_READ_SEARCH 2, NET_ADMIN 12, NET_RAW 13, SYS_PTRACE 19.
const ALL_FOUR_MASK = (1n << 2n) | (1n << 12n) | (1n << 13n) | (1n << 19n);
// A system python that another user can execute (a per-user pyenv shim under /root is not).
const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p)) ?? '';
const DEST = '127.0.0.2';

function setprivArgs(user: Account, caps: string): string[] {
  const plus = caps ? caps.split(',').map((c) => `+${c}`).join(',') : '';
  const capArgs = caps ? ['--inh-caps', plus, '--ambient-caps', plus, '--bounding-set', `-all,${plus}`] : ['--inh-caps', '-all', '--bounding-set', '-all'];
  return ['--reuid', String(user.uid), '--regid', String(user.gid), '--init-groups', ...capArgs, '--'];
}

function capField(pid: number, field: string): bigint {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return BigInt(`0x${m[1]}`);
}

interface Alert {
  process?: { pid?: number };
  user?: { id?: string; name?: string };
  destination?: { ip?: string; port?: number };
  egresswatch?: { attribution?: { attributed?: boolean } };
}

describe('deploy: the four capabilities are enough, and needed', function () {
  this.timeout(90_000);
  let agentUser: Account;
  let clientUser: Account;
  let tmp = '';
  /** Where the agent user reads the app from: the checkout, or a bind mount of it. */
  let appRoot = REPO_ROOT;
  let appMount = '';
  let server: net.Server | undefined;
  let serverPort = 0;
  const children: Child[] = [];
  const sockets = new Set<net.Socket>();

  before(async function () {
    requirePrereq(this, isRoot(), 'root (to switch users and hand out capabilities)');
    requirePrereq(this, haveCommand('setpriv'), 'setpriv (util-linux)');
    requirePrereq(this, PYTHON !== '', 'a system python3 in /usr/bin or /usr/local/bin');
    requirePrereq(this, haveCommand('useradd'), 'useradd');
    agentUser = ensureSystemUser(AGENT_USER);
    clientUser = ensureSystemUser(CLIENT_USER);
    const readableAt = (root: string) => runSync('setpriv', [...setprivArgs(agentUser, ''), 'test', '-r', path.join(root, 'dist', 'agent', 'cli.js')]).code === 0;
    if (!readableAt(REPO_ROOT)) {
      // The checkout sits under a directory the agent user cannot enter (CI clones under
      // /root, say): show it to that user through a bind mount at a traversable path.
      appMount = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-caps-app-'));
      fs.chmodSync(appMount, 0o755);
      runSync('mount', ['--bind', REPO_ROOT, appMount]);
      appRoot = appMount;
    }
    requirePrereq(this, readableAt(appRoot), `the checkout ${REPO_ROOT} readable by the ${AGENT_USER} user`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-caps-'));
    fs.chmodSync(tmp, 0o700);
    fs.chownSync(tmp, agentUser.uid, agentUser.gid);
    server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => sockets.delete(s));
      s.end('ok\n');
    });
    await new Promise<void>((resolve, reject) => { server?.once('error', reject); server?.listen(0, DEST, resolve); });
    serverPort = (server.address() as net.AddressInfo).port;
  });

  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.stop(5000)));
  });

  after(async () => {
    if (appMount) {
      runSync('umount', [appMount]);
      fs.rmSync(appMount, { recursive: true, force: true });
    }
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function startAgent(caps: string, label: string): Promise<{ agent: Child; alertsFile: string }> {
    const dir = path.join(tmp, label);
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, agentUser.uid, agentUser.gid);
    const alertsFile = path.join(dir, 'alerts.json');
    const port = await freePort();
    const agent = new Child('setpriv', [...setprivArgs(agentUser, caps), process.execPath, path.join(appRoot, 'dist', 'agent', 'cli.js'), 'run',
      '--interface', 'lo', '--external-cidr', `${DEST}/32`, '--state-dir', path.join(dir, 'state'), '--alerts-file', alertsFile,
      '--learning-period', '0', '--alert-delay', '500ms', '--ptr', 'off', '--metrics-listen', `127.0.0.1:${port}`,
      '--host-name', 'caps-test'], { cwd: dir });
    children.push(agent);
    for (let i = 0; i < 200; i++) {
      if (!agent.running) throw new Error(`agent (${caps}) exited before /healthz${agent.describe()}`);
      if (await httpStatus(port, '/healthz', 500).catch(() => 0) === 200) return { agent, alertsFile };
      await sleep(100);
    }
    throw new Error(`agent (${caps}) /healthz not 200 in 20 s${agent.describe()}`);
  }

  /** The other user's python connects to DEST and holds the socket briefly; returns its pid. */
  async function connectAsClient(): Promise<number> {
    const script = `import os,socket,time\nprint(os.getpid(),flush=True)\nc=socket.create_connection(("${DEST}",${serverPort}),timeout=5)\nc.sendall(b"hello\\n")\nc.recv(16)\ntime.sleep(1.5)\nc.close()\n`;
    const client = new Child('setpriv', [...setprivArgs(clientUser, ''), PYTHON, '-c', script], { cwd: '/' });
    children.push(client);
    const r = await client.wait(15_000);
    assert.equal(r.code, 0, `client failed${client.describe()}`);
    return Number(r.stdout.trim().split('\n')[0]);
  }

  async function alertFor(alertsFile: string, agent: Child): Promise<Alert> {
    for (let i = 0; i < 100; i++) {
      const lines = fs.existsSync(alertsFile) ? fs.readFileSync(alertsFile, 'utf8').split('\n').filter((l) => l !== '') : [];
      const hit = lines.map((l) => JSON.parse(l) as Alert).find((a) => a.destination?.ip === DEST && a.destination.port === serverPort);
      if (hit) return hit;
      await sleep(100);
    }
    throw new Error(`no alert for ${DEST}:${serverPort} within 10 s${agent.describe()}`);
  }

  it('with exactly the four: captures and attributes the other user\'s process', async () => {
    const { agent, alertsFile } = await startAgent(ALL_FOUR, 'four');
    const pid = agent.proc.pid ?? 0;
    // setpriv execs node, so the child pid is the agent: it runs as the user with these four only.
    assert.equal(capField(pid, 'CapEff'), ALL_FOUR_MASK);
    assert.equal(capField(pid, 'CapBnd'), ALL_FOUR_MASK);
    assert.equal(capField(pid, 'CapAmb'), ALL_FOUR_MASK);
    assert.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`^Uid:\\s+${agentUser.uid}\\s+${agentUser.uid}\\s`, 'm'));

    const clientPid = await connectAsClient();
    const alert = await alertFor(alertsFile, agent);
    assert.equal(alert.process?.pid, clientPid, JSON.stringify(alert));
    assert.equal(alert.user?.name, CLIENT_USER);
    assert.equal(alert.user?.id, String(clientUser.uid));
    assert.equal(alert.egresswatch?.attribution?.attributed, true);
    const stopped = await agent.stop();
    assert.equal(stopped.code, 0, `agent did not stop cleanly${agent.describe()}`);
  });

  it('control: capture capabilities alone alert but cannot attribute another user\'s socket', async () => {
    const { agent, alertsFile } = await startAgent(CAPTURE_ONLY, 'capture-only');
    const clientPid = await connectAsClient();
    const alert = await alertFor(alertsFile, agent);
    assert.notEqual(alert.process?.pid, clientPid, `attributed without CAP_SYS_PTRACE: ${JSON.stringify(alert)}`);
    assert.notEqual(alert.user?.name, CLIENT_USER);
    assert.notEqual(alert.egresswatch?.attribution?.attributed, true);
  });

  it('control: with no capability the agent fails at start with one line naming it', async () => {
    const dir = path.join(tmp, 'none');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, agentUser.uid, agentUser.gid);
    const agent = new Child('setpriv', [...setprivArgs(agentUser, ''), process.execPath, path.join(appRoot, 'dist', 'agent', 'cli.js'), 'run',
      '--interface', 'lo', '--state-dir', path.join(dir, 'state'), '--alerts-file', path.join(dir, 'alerts.json'), '--ptr', 'off'], { cwd: dir });
    children.push(agent);
    const r = await agent.wait(20_000);
    assert.notEqual(r.code, 0, `agent started without capabilities${agent.describe()}`);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
    assert.match(lines[0], /CAP_NET_RAW/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'stack trace printed');
  });
});
