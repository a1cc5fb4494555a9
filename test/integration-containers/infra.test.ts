// Self-check of the container harness, without the agent: pods behind NAT reach the test
// internet, a container client runs in its cgroups / mount / pid namespaces as a user only its
// own passwd names, each pod connection shows up twice in the root namespace (before and after
// SNAT), the quick server makes short-lived connections, and teardown restores everything.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { haveCommand, requirePrereq } from '../helpers/env.js';
import { NET } from '../integration/netns.js';
import { wrapClient } from '../integration/clients.js';
import { Daemon, run, runOk } from '../integration/proc.js';
import { ContainerWorldHandle, LOCK_WAIT_MS, missingPrereqs, type ContainerWorld } from './world.js';
import { CLIENT_SCRIPT, parseClientOutput, runInContainer, startLingering } from './containers.js';
import { APP_SCRIPT, CONTAINERD_TASKS } from './hostroot.js';
import { containerCgroupPath } from './cgroups.js';
import { IP_FORWARD, LEDGER_FILE } from './ledger.js';
import { POD_TARGET, QUICK_SERVER, quickName } from './scenario.js';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('container harness (no agent)', function () {
  this.timeout(30_000);
  const handle = new ContainerWorldHandle();
  let w: ContainerWorld;
  let forwardBefore = '';

  before(async function () {
    this.timeout(LOCK_WAIT_MS + 60_000);
    const missing = missingPrereqs();
    requirePrereq(this, missing.length === 0, `container harness needs: ${missing.join(', ')}`);
    // A killed earlier run may have left ip_forward on: its ledger says what it was before.
    const stale = fs.existsSync(LEDGER_FILE) ? (JSON.parse(fs.readFileSync(LEDGER_FILE, 'utf8')) as { ipForward?: string }).ipForward : undefined;
    forwardBefore = stale ?? fs.readFileSync(IP_FORWARD, 'utf8');
    w = await handle.start();
  });

  after(async () => {
    await handle.teardown();
  });

  it('pods: own namespace and address, default route via the root side, NAT toward the uplink', async () => {
    for (const p of w.net.pods) {
      const a = await runOk('ip', ['-n', p.ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      assert.match(a.stdout, new RegExp(`inet ${esc(p.podAddr)}/24`));
      const r = await runOk('ip', ['-n', p.ns, 'route', 'show', 'default']);
      assert.match(r.stdout, new RegExp(`default via ${esc(p.gateway)} dev eth0`));
      assert.ok(p.podAddr.startsWith('10.244.'), 'pod addresses stay in the internal range');
    }
    const t = await runOk('nft', ['list', 'table', 'ip', w.net.nftTable]);
    assert.match(t.stdout, new RegExp(`oifname "${esc(w.topo.hostIf)}" masquerade`));
    assert.equal(fs.readFileSync(IP_FORWARD, 'utf8').trim(), '1');
  });

  it('a container client: its cgroups, pid namespace, passwd and /opt seen through /proc/PID', async () => {
    const c = w.containers[0]!;
    const { daemon, out } = await startLingering(c, w.python, w.resolvConf, ['http', `http://${POD_TARGET.domain}/`], 5000);
    try {
      assert.equal(out.reply, `ewtest-server ${POD_TARGET.addr}:${POD_TARGET.port}`);
      assert.equal(out.user, c.def.user.name, 'the client sees its own passwd');
      assert.equal(out.nspid.length, 2, `NSpid ${out.nspid.join(' ')}: a pid namespace of its own`);
      assert.equal(out.nspid[1], 1, 'pid 1 inside');
      assert.notEqual(out.pid, daemon.pid, 'the client is unshare\'s child, not the spawned process');
      const proc = (f: string) => path.join('/proc', String(out.pid), f);
      const cg = fs.readFileSync(proc('cgroup'), 'utf8');
      const rel = containerCgroupPath(c.def.driver, c.def.podUid, c.def.id);
      assert.equal(cg.split('\n').filter((l) => l.endsWith(`:${rel}`)).length, c.cgroups.length, `${rel} in every hierarchy:\n${cg}`);
      assert.match(fs.readFileSync(proc('root/etc/passwd'), 'utf8'), new RegExp(`^${c.def.user.name}:x:${c.def.user.uid}:`, 'm'));
      assert.doesNotMatch(fs.readFileSync('/etc/passwd', 'utf8'), new RegExp(`^${c.def.user.name}:`, 'm'), 'the name exists only in the container');
      assert.match(fs.readFileSync(path.join(w.hostRoot, 'etc/passwd'), 'utf8'), new RegExp(`^host-uid-${c.def.user.uid}:`, 'm'));
      assert.ok(fs.existsSync(proc(`root${APP_SCRIPT}`)) && !fs.existsSync(APP_SCRIPT), `${APP_SCRIPT} exists in the container only`);
      assert.deepEqual(fs.readFileSync(proc('cmdline'), 'utf8').split('\0').slice(1, 3), [APP_SCRIPT, 'http']);
      assert.match(fs.readFileSync(proc('status'), 'utf8'), new RegExp(`^Uid:\\s+${c.def.user.uid}\\s`, 'm'));
      const podNs = fs.statSync(path.join('/run/netns', c.pod.ns)).ino;
      assert.equal(fs.readlinkSync(proc('ns/net')), `net:[${podNs}]`);
      const cfg = JSON.parse(fs.readFileSync(path.join(w.hostRoot, CONTAINERD_TASKS, c.def.id, 'config.json'), 'utf8'));
      assert.equal(cfg.annotations['io.kubernetes.cri.image-name'], c.def.image);
      assert.equal(cfg.annotations['io.kubernetes.cri.sandbox-name'], c.def.podName);
    } finally {
      // unshare --fork ignores TERM while it waits, and pid 1 of a namespace has no default
      // TERM action: KILL, which --kill-child passes on to the client.
      await daemon.stop('SIGKILL', 2000);
    }
  });

  it('a pod connection is seen twice in the root namespace: from the pod, and after SNAT', async function () {
    requirePrereq(this, haveCommand('tshark'), 'tshark (to watch both copies of a pod connection)');
    const c = w.containers[2]!;
    const filter = `tcp dst port ${QUICK_SERVER.port} and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn`;
    const cap = new Daemon('tshark', 'tshark', ['-i', 'any', '-n', '-l', '-f', filter, '-c', '2', '-a', 'duration:15', '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst']);
    try {
      await cap.waitForOutput(/Capturing on/, 10_000);
      const out = await runInContainer(c, w.python, w.resolvConf, ['tcp', quickName(0), String(QUICK_SERVER.port)]);
      assert.match(out.reply, new RegExp(`^ewtest-quick ${esc(QUICK_SERVER.addr)}:${QUICK_SERVER.port} peer ${esc(NET.hostAddr)}:\\d+$`), 'the server sees the uplink address');
      for (let i = 0; i < 100 && cap.running; i++) await new Promise((r) => setTimeout(r, 50));
      const rows = cap.out.text().trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')).sort();
      assert.deepEqual(rows, [`${c.pod.podAddr} ${QUICK_SERVER.addr}`, `${NET.hostAddr} ${QUICK_SERVER.addr}`].sort(), cap.describe());
    } finally {
      await cap.stop('SIGTERM', 2000);
    }
  });

  it('the quick server answers at once; a root-namespace client reports its own pid', async () => {
    const copy = path.join(w.dir, 'quick_selfcheck.py');
    fs.copyFileSync(CLIENT_SCRIPT, copy);
    fs.chmodSync(copy, 0o644);
    const [cmd, args] = wrapClient(w.resolvConf, [w.python, copy, 'tcp', quickName(1), String(QUICK_SERVER.port)], w.user.name);
    const r = await run(cmd, args, { timeoutMs: 15_000, env: { PATH: '/usr/bin:/bin', HOME: w.dir, LANG: 'C.UTF-8' } });
    const out = parseClientOutput(r.stdout);
    assert.ok(r.code === 0 && out, `${r.stdout}\n${r.stderr}`);
    assert.equal(out.pid, r.pid, 'no pid namespace, exec all the way: the spawned pid is the client');
    assert.equal(out.user, w.user.name);
    assert.match(out.reply, /^ewtest-quick /);
    // The held servers take ≥ 300 ms; this one must not (generous bound for a loaded machine).
    assert.ok(out.elapsedMs < 250, `connect → close took ${out.elapsedMs} ms`);
  });

  it('tears down pods, NAT, cgroups and ip_forward, leaving no ledger', async () => {
    const { net, containers } = w;
    assert.deepEqual(await handle.teardown(), []);
    const nsList = (await run('ip', ['netns', 'list'])).stdout;
    for (const p of net.pods) assert.doesNotMatch(nsList, new RegExp(`^${p.ns}\\b`, 'm'));
    const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
    for (const p of net.pods) assert.doesNotMatch(links, new RegExp(`\\b${p.hostIf}\\b`));
    assert.notEqual((await run('nft', ['list', 'table', 'ip', net.nftTable])).code, 0, 'nft table removed');
    for (const c of containers) for (const leaf of c.cgroups) assert.ok(!fs.existsSync(leaf), `${leaf} removed`);
    assert.equal(fs.readFileSync(IP_FORWARD, 'utf8').trim(), forwardBefore.trim());
    assert.ok(!fs.existsSync(LEDGER_FILE), 'ledger removed');
  });
});
