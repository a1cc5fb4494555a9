// Self-check of the end-to-end harness without the agent: the namespace comes up, dnsmasq
// answers, every client reaches its own server by name as the test user, the host's
// resolv.conf is untouched, and teardown leaves no namespace, link or route behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { requirePrereq } from '../helpers/env.js';
import { DEFAULT_LOCK_WAIT_MS, WorldHandle, missingPrereqs, type World } from './world.js';
import { queryDns } from './dnsmasq.js';
import { NET } from './netns.js';
import { checkClientOutput, runClient } from './clients.js';
import { run, runOk } from './proc.js';

describe('integration harness (no agent)', function () {
  this.timeout(30_000);
  const handle = new WorldHandle();
  let w: World;
  let hostResolv = '';

  before(async function () {
    this.timeout(DEFAULT_LOCK_WAIT_MS + 60_000);
    const missing = missingPrereqs();
    requirePrereq(this, missing.length === 0, `integration harness needs: ${missing.join(', ')}`);
    hostResolv = fs.readFileSync('/etc/resolv.conf', 'utf8');
    w = await handle.start();
  });

  after(async () => {
    await handle.teardown();
  });

  it('routes the test addresses into the namespace', async () => {
    const ns = await runOk('ip', ['netns', 'list']);
    assert.match(ns.stdout, new RegExp(`^${w.topo.ns}\\b`, 'm'));
    for (const addr of NET.serviceAddrs) {
      const r = await runOk('ip', ['route', 'get', addr]);
      assert.match(r.stdout, new RegExp(`via ${NET.nsAddr.replace(/\./g, '\\.')} dev ${w.topo.hostIf}`), r.stdout);
    }
    // The host's own default route is untouched.
    const def = await runOk('ip', ['route', 'show', 'default']);
    assert.doesNotMatch(def.stdout, new RegExp(w.topo.hostIf));
  });

  it('dnsmasq answers A, CNAME chain and AAAA from its records only', async () => {
    const a = await queryDns(NET.nsAddr, 'api.example.com', 'A', 2000);
    assert.deepEqual(a.map((x) => [x.type, x.data]), [['A', '203.0.113.10']]);
    const chain = await queryDns(NET.nsAddr, 'www.example.net', 'A', 2000);
    assert.deepEqual(chain.map((x) => [x.name, x.type, x.data]), [
      ['www.example.net', 'CNAME', 'edge.cdn-example.org'],
      ['edge.cdn-example.org', 'A', '203.0.113.20'],
    ]);
    assert.deepEqual((await queryDns(NET.nsAddr, 'files.example.org', 'A', 2000)).map((x) => x.data), ['192.0.2.30']);
    assert.deepEqual((await queryDns(NET.nsAddr, 'mybucket.s3.us-west-2.amazonaws.com', 'A', 2000)).map((x) => x.data), ['192.0.2.40']);
    assert.deepEqual((await queryDns(NET.nsAddr, 'v6.example.com', 'AAAA', 2000)).map((x) => x.data), ['2001:db8:1::10']);
    // Names we did not define are not forwarded anywhere.
    assert.deepEqual(await queryDns(NET.nsAddr, 'nothing.example.com', 'A', 2000), []);
  });

  it('resolves through the private resolv.conf as the test user, leaving the host file alone', async () => {
    const who = await runClient(w.kit, ['id', '-un']);
    assert.equal(who.stdout.trim(), w.user.name, who.stderr);
    for (const [name, ip] of [['api.example.com', '203.0.113.10'], ['www.example.net', '203.0.113.20'],
      ['files.example.org', '192.0.2.30'], ['mybucket.s3.us-west-2.amazonaws.com', '192.0.2.40']] as const) {
      const r = await runClient(w.kit, ['getent', 'ahostsv4', name]);
      assert.match(r.stdout, new RegExp(`^${ip.replace(/\./g, '\\.')}\\s`, 'm'), `${name}: ${r.stdout} ${r.stderr}`);
    }
    assert.equal(fs.readFileSync('/etc/resolv.conf', 'utf8'), hostResolv);
  });

  it('each client reaches its own server by name and reports its own pid', async () => {
    for (const c of w.kit.clients) {
      const r = await runClient(w.kit, c.argv);
      const problem = checkClientOutput(c, r);
      assert.equal(problem, undefined, `${problem}\n${w.describe()}`);
      // The wrapper execs all the way down, so the spawned pid is the client's (curl prints none).
      if (c.label !== 'curl') assert.match(r.stdout, new RegExp(`^pid ${r.pid}$`, 'm'), `${c.label}: ${r.stdout}`);
    }
  });

  it('reaches the IPv6 server by name', async function () {
    if (!w.topo.ipv6) this.skip();
    const r = await runClient(w.kit, ['curl', '-s', '-6', '--max-time', '5', 'http://v6.example.com/']);
    assert.match(r.stdout, /^ewtest-server 2001:db8:1::10:80$/m, r.stderr);
  });

  it('tears down without leaving a namespace, link or route', async () => {
    const { ns, hostIf } = w.topo;
    // Checked by teardown while it still holds the machine-wide lock: nothing of ours is left.
    assert.deepEqual(await handle.teardown(), []);
    // After the lock is released another run may build its own: look for our names only.
    const nsList = await run('ip', ['netns', 'list']);
    assert.doesNotMatch(nsList.stdout, new RegExp(`^${ns}\\b`, 'm'));
    const links = await run('ip', ['-o', 'link', 'show']);
    assert.doesNotMatch(links.stdout, new RegExp(`\\b${hostIf}\\b`));
    const routes = (await run('ip', ['route'])).stdout + (await run('ip', ['-6', 'route'])).stdout;
    assert.doesNotMatch(routes, new RegExp(`\\b${hostIf}\\b`));
    assert.ok(!w.dnsmasq.running && !w.servers.running, 'dnsmasq and servers stopped');
  });
});
