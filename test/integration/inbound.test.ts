// End to end, as root, live: a host whose own address is external (a VPS or bare-metal host with
// a public address on its interface; here the test internet's link address, made external with
// --external-cidr) runs a service that clients out there connect to. Those connections came in:
// no alert, however new the client (they used to alert as "forwarded by this host" connections
// to the host's own address). A connection the host makes out still alerts.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { liveSuite } from './world.js';
import { AgentProcess } from './agent.js';
import { get, readAlerts, summarize, waitForAlerts } from './alerts.js';
import { wrapClient } from './clients.js';
import { NET } from './netns.js';
import { run } from './proc.js';

const PORT = 8443;
const SERVER = `import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
print('listening', flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b'x' * 3000)
    c.close()
`;

describe('end to end, live: connections into this host are not egress', function () {
  this.timeout(60_000);
  const w = liveSuite('live-inbound');
  let agent: AgentProcess | undefined;
  let server: ChildProcess | undefined;

  before(async function () {
    // The service, in this (the host's) namespace, on the host's end of the link.
    server = spawn('python3', ['-c', SERVER, NET.hostAddr, String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(server.stdout!, 'data');
  });

  w.cleanup(async () => {
    if (agent?.running) await agent.stop(5000);
    server?.kill('SIGKILL');
  });

  it('clients out there connecting to the host\'s external address raise no alert; the host connecting out does', async () => {
    const state = path.join(w.tmp, 'state');
    fs.mkdirSync(state);
    const alertsFile = path.join(state, 'alerts.json');
    agent = await AgentProcess.start({ stateDir: state, alertsFile, learningPeriod: '0', hostName: 'public-host', extraArgs: ['--external-cidr', '198.51.100.0/24'] });
    for (let i = 0; i < 2; i++) {
      const [cmd, args] = w.topo.nsExec('python3', '-c', `import socket; s = socket.create_connection(('${NET.hostAddr}', ${PORT}), 5); print(len(s.recv(10000)))`);
      const r = await run(cmd, args, { timeoutMs: 10_000 });
      assert.equal(r.code, 0, r.stderr);
    }
    const [cmd, args] = wrapClient(w.kit.resolvConf, ['curl', '-s', '--max-time', '10', '-o', '/dev/null', 'http://api.example.com/'], w.user.name);
    assert.equal((await run(cmd, args, { timeoutMs: 15_000, cwd: w.tmp, env: { PATH: '/usr/bin:/bin', HOME: w.tmp } })).code, 0);
    await waitForAlerts(alertsFile, (a) => a.length >= 1, 15_000);
    // The inbound connections came first: had they alerted, their alerts would be out by now (--alert-delay 1s).
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await agent.stop()).code, 0, agent.describe());
    const alerts = readAlerts(alertsFile);
    const diag = `alerts:\n${alerts.map(summarize).join('\n')}\n${agent.describe()}`;
    assert.deepEqual(alerts.map((a) => get(a, 'destination.ip')), ['203.0.113.10'], diag);
    assert.equal(get(alerts[0], 'egresswatch.software.id'), '/usr/bin/curl', diag);
    const inbound = /^egresswatch_connections_inbound (\d+)$/m.exec(agent.lastMetrics);
    assert.ok(inbound && Number(inbound[1]) >= 2, `connections_inbound counts both: ${diag}`);
  });
});
