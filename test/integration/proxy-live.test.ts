// End to end, as root, live: a host whose software goes through an HTTP proxy, with the agent
// running (not a replay), so the connections are attributed. The proxy (keepalive_proxy.cjs, one
// that keeps its clients' connections alive) listens in the test internet's namespace on its
// internal address; curl, as the test user, fetches two hosts through it over one connection.
// Each host alerts on its own, named by its request, attributed to curl.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from '../helpers/env.js';
import { liveSuite } from './world.js';
import { AgentProcess } from './agent.js';
import { get, readAlerts, summarize, waitForAlerts } from './alerts.js';
import { wrapClient } from './clients.js';
import { NET } from './netns.js';
import { Daemon, run } from './proc.js';

const PROXY_PORT = 3128;

describe('end to end, live: connections through an HTTP proxy, attributed', function () {
  this.timeout(60_000);
  const w = liveSuite('live-proxy');
  let agent: AgentProcess | undefined;
  let proxy: Daemon | undefined;
  let nsEtc = '';
  let madeNetnsEtc = false;

  before(async function () {
    // The proxy resolves through the test internet's dnsmasq only (`ip netns exec` binds this file over /etc/resolv.conf).
    madeNetnsEtc = !fs.existsSync('/etc/netns');
    nsEtc = path.join('/etc/netns', w.topo.ns);
    fs.mkdirSync(nsEtc, { recursive: true });
    fs.writeFileSync(path.join(nsEtc, 'resolv.conf'), `nameserver ${NET.nsAddr}\n`);
    const [cmd, args] = w.topo.nsExec(process.execPath, path.join(FIXTURES_DIR, 'integration', 'keepalive_proxy.cjs'), NET.nsAddr, String(PROXY_PORT));
    proxy = new Daemon('keep-alive proxy', cmd, args);
    await proxy.waitForOutput(/listening/, 10_000);
  });

  w.cleanup(async () => {
    if (agent?.running) await agent.stop(5000);
    if (proxy?.running) await proxy.stop('SIGTERM', 2000);
    if (nsEtc) fs.rmSync(nsEtc, { recursive: true, force: true });
    if (madeNetnsEtc) fs.rmSync('/etc/netns', { recursive: true, force: true });
  });

  it('each host asked of the proxy alerts on its own, named by its request and attributed to curl', async () => {
    const state = path.join(w.tmp, 'state');
    fs.mkdirSync(state);
    const alertsFile = path.join(state, 'alerts.json');
    agent = await AgentProcess.start({ stateDir: state, alertsFile, learningPeriod: '0', hostName: 'proxied-host', extraArgs: ['--proxy', `${NET.nsAddr}:${PROXY_PORT}`] });
    const [cmd, args] = wrapClient(w.kit.resolvConf, ['curl', '-s', '--max-time', '10', '-x', `http://${NET.nsAddr}:${PROXY_PORT}`,
      '-o', '/dev/null', 'http://api.example.com/', '-o', '/dev/null', 'http://www.example.net/', '-w', '%{http_code} %{num_connects}\\n'], w.user.name);
    const r = await run(cmd, args, { timeoutMs: 15_000, cwd: w.tmp, env: { PATH: '/usr/bin:/bin', HOME: w.tmp } });
    assert.equal(r.code, 0, `${r.stderr} ${proxy?.describe()}`);
    assert.deepEqual(r.stdout.trim().split('\n'), ['200 1', '200 0'], `both through one connection to the proxy: ${r.stdout}`);
    await waitForAlerts(alertsFile, (a) => a.length >= 2, 15_000);
    assert.equal((await agent.stop()).code, 0, agent.describe());
    const alerts = readAlerts(alertsFile);
    const diag = `alerts:\n${alerts.map(summarize).join('\n')}\n${agent.describe()}`;
    assert.equal(alerts.length, 2, diag);
    assert.deepEqual(alerts.map((a) => get(a, 'destination.domain')), ['api.example.com', 'www.example.net'], diag);
    assert.deepEqual(alerts.map((a) => get(a, 'egresswatch.domain_group')), ['example.com', 'example.net'], diag);
    for (const a of alerts) {
      assert.equal(get(a, 'destination.ip'), NET.nsAddr, diag);
      assert.equal(get(a, 'egresswatch.software.id'), '/usr/bin/curl', diag);
      assert.equal(get(a, 'user.name'), w.user.name, diag);
      assert.equal(get(a, 'egresswatch.attribution.method'), 'procfs-socket', diag);
      assert.equal(get(a, 'egresswatch.name_source'), 'http', diag);
    }
    assert.equal(get(alerts[0], 'process.pid'), get(alerts[1], 'process.pid'), `one curl: ${diag}`);
    assert.equal(get(alerts[0], 'egresswatch.proxy.request'), undefined, diag);
    assert.equal(get(alerts[1], 'egresswatch.proxy.request'), 2, diag);
  });
});
