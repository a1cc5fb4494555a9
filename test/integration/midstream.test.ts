// End to end, as root: a connection opened while the agent was not running. A python client
// connects to the test internet by address, the agent starts, and only then does the client send
// its request. The agent never saw the SYN; it takes the connection up at the request, finds the
// process (its socket is there), and alerts: before, the connection went unseen.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from '../helpers/env.js';
import { liveSuite } from './world.js';
import { AgentProcess } from './agent.js';
import { get, readAlerts, summarize, waitForAlerts } from './alerts.js';
import { wrapClient } from './clients.js';
import { Daemon } from './proc.js';

const ADDR = '203.0.113.10';

describe('end to end: a connection opened before the agent started', function () {
  this.timeout(60_000);
  const w = liveSuite('mid-stream', { tmpMode: 0o777 });
  let agent: AgentProcess | undefined;
  let client: Daemon | undefined;

  w.cleanup(async () => {
    if (agent?.running) await agent.stop(5000);
    if (client?.running) await client.stop('SIGKILL', 2000);
  });

  it('is taken up at its first data and attributed to the process that opened it', async () => {
    const script = path.join(w.tmp, 'late_request.py');
    fs.copyFileSync(path.join(FIXTURES_DIR, 'integration', 'late_request.py'), script);
    fs.chmodSync(script, 0o644);
    const go = path.join(w.tmp, 'go');
    const [cmd, args] = wrapClient(w.kit.resolvConf, [w.kit.python, script, ADDR, '80', go], w.user.name);
    client = new Daemon('late client', cmd, args, { cwd: w.tmp, env: { PATH: '/usr/bin:/bin', HOME: w.tmp } });
    await client.waitForOutput(/connected/, 10_000);
    const state = path.join(w.tmp, 'state');
    fs.mkdirSync(state);
    const alertsFile = path.join(state, 'alerts.json');
    agent = await AgentProcess.start({ stateDir: state, alertsFile, learningPeriod: '0', hostName: 'midstream-host' });
    fs.writeFileSync(go, '');
    await client.waitForOutput(/reply \d+/, 10_000);
    await waitForAlerts(alertsFile, (a) => a.length >= 1, 15_000);
    assert.equal((await agent.stop()).code, 0, agent.describe());
    const alerts = readAlerts(alertsFile);
    const diag = `alerts:\n${alerts.map(summarize).join('\n')}\n${agent.describe()}\n${client.describe()}`;
    assert.equal(alerts.length, 1, diag);
    const [a] = alerts;
    assert.equal(get(a, 'destination.ip'), ADDR, diag);
    assert.equal(get(a, 'egresswatch.flow.midstream'), true, diag);
    assert.equal(get(a, 'egresswatch.software.id'), script, diag);
    assert.equal(get(a, 'process.pid'), client.pid, `the client (unshare, sh and setpriv exec it in place): ${diag}`);
    assert.equal(get(a, 'user.name'), w.user.name, diag);
    assert.equal(get(a, 'egresswatch.attribution.method'), 'procfs-socket', diag);
    assert.ok((get(a, 'destination.bytes') as number) > 1000, `the reply came after the agent started: ${diag}`);
  });
});
