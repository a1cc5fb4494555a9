// End to end, as root: the DNS names the agent learned survive its restart. curl looks up
// api.example.com (the test internet's dnsmasq) and connects; the agent is stopped (SIGTERM)
// and started again on the same state directory; then a python client connects to the same
// address by IP, with no DNS packet for the new agent to see. Its alert (a new software) is
// named api.example.com from the names the first run saved: before, it was a bare address (or a
// PTR name), a domain group of its own, and would alert as new after every restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from '../helpers/env.js';
import { liveSuite } from './world.js';
import { AgentProcess, httpText } from './agent.js';
import { get, readAlerts, summarize, waitForAlerts } from './alerts.js';
import { wrapClient } from './clients.js';
import { run } from './proc.js';
import { NAMES_FILE } from '../../lib/pipeline/names-file.js';

const NAME = 'api.example.com';
const ADDR = '203.0.113.10';

describe('end to end: DNS names survive an agent restart', function () {
  this.timeout(60_000);
  const w = liveSuite('restart');
  let agent: AgentProcess | undefined;
  const state = () => path.join(w.tmp, 'state');
  const alertsFile = () => path.join(state(), 'alerts.json');

  before(async function () {
    fs.mkdirSync(state(), { recursive: true });
  });

  w.cleanup(async () => {
    if (agent?.running) await agent.stop(5000);
  });

  const client = async (argv: string[]) => {
    const [cmd, args] = wrapClient(w.kit.resolvConf, argv, w.user.name);
    const r = await run(cmd, args, { timeoutMs: 15_000, cwd: w.tmp, env: { PATH: '/usr/bin:/bin', HOME: w.tmp } });
    assert.equal(r.code, 0, `client ${argv.join(' ')} failed: ${r.stdout}\n${r.stderr}`);
  };

  /** The python client by address, with no DNS lookup for the agent to see. */
  const connectByAddress = async () => {
    const script = path.join(w.tmp, 'raw_connect.py');
    fs.copyFileSync(path.join(FIXTURES_DIR, 'integration', 'raw_connect.py'), script);
    fs.chmodSync(script, 0o644);
    await client([w.kit.python, script, ADDR, '80']);
  };

  it('names a connection made by address after the restart from what the first run learned', async () => {
    const opts = { stateDir: state(), alertsFile: alertsFile(), learningPeriod: '0', hostName: 'restart-host' };
    agent = await AgentProcess.start({ ...opts, label: 'agent (first run)' });
    await client(['curl', '-s', '-o', '/dev/null', '--max-time', '10', `http://${NAME}/`]);
    await waitForAlerts(alertsFile(), (a) => a.length >= 1, 15_000);
    assert.equal((await agent.stop()).code, 0, agent.describe());
    const saved = JSON.parse(fs.readFileSync(path.join(state(), NAMES_FILE), 'utf8')) as { entries: { ip: string; chain: string[] }[] };
    assert.ok(saved.entries.some((e) => e.ip === ADDR && e.chain[0] === NAME), `saved: ${JSON.stringify(saved).slice(0, 500)}`);

    agent = await AgentProcess.start({ ...opts, label: 'agent (after the restart)' });
    await connectByAddress();
    await waitForAlerts(alertsFile(), (a) => a.length >= 2, 15_000);
    assert.equal((await agent.stop()).code, 0, agent.describe());
    const alerts = readAlerts(alertsFile());
    const diag = `alerts:\n${alerts.map(summarize).join('\n')}\n${agent.describe()}`;
    assert.equal(alerts.length, 2, diag);
    const second = alerts[1];
    assert.equal(get(second, 'destination.ip'), ADDR, diag);
    assert.equal(get(second, 'destination.domain'), NAME, diag);
    assert.equal(get(second, 'egresswatch.name_source'), 'dns', diag);
    assert.deepEqual(get(second, 'egresswatch.novel_for'), ['software'], `the host knew example.com from the first run: ${diag}`);
  });

  it('after a crash (SIGKILL, no clean stop), names from the last periodic save are restored', async () => {
    const dir = path.join(w.tmp, 'state-crash');
    fs.mkdirSync(dir);
    const alerts = path.join(dir, 'alerts.json');
    const opts = { stateDir: dir, alertsFile: alerts, learningPeriod: '0', hostName: 'crash-host' };
    agent = await AgentProcess.start({ ...opts, label: 'agent (to be killed)', extraArgs: ['--names-save-interval', '1s'] });
    await client(['curl', '-s', '-o', '/dev/null', '--max-time', '10', `http://${NAME}/`]);
    await waitForAlerts(alerts, (a) => a.length >= 1, 15_000);
    const file = path.join(dir, NAMES_FILE);
    const savedHas = (): boolean => {
      try {
        const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: { ip: string; chain: string[] }[] };
        return doc.entries.some((e) => e.ip === ADDR && e.chain[0] === NAME);
      } catch {
        return false;
      }
    };
    for (const deadline = Date.now() + 10_000; !savedHas() && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 200));
    assert.ok(savedHas(), `names.json with ${NAME} within 10 s of a 1 s save interval: ${fs.existsSync(file) ? fs.readFileSync(file, 'utf8').slice(0, 500) : 'no file'}\n${agent.describe()}`);
    const metrics = await httpText(agent.metricsPort, '/metrics', 2000);
    assert.match(metrics, /^egresswatch_names_saves\{kind="saved"\} [1-9]/m, 'the saves are counted in /metrics');
    assert.match(metrics, /^egresswatch_names_saves\{kind="failed"\} 0$/m);
    const killed = await agent.daemon.stop('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL', agent.describe());

    agent = await AgentProcess.start({ ...opts, label: 'agent (after the crash)' });
    await connectByAddress();
    await waitForAlerts(alerts, (a) => a.length >= 2, 15_000);
    assert.equal((await agent.stop()).code, 0, agent.describe());
    const all = readAlerts(alerts);
    const diag = `alerts:\n${all.map(summarize).join('\n')}\n${agent.describe()}`;
    assert.equal(all.length, 2, diag);
    assert.equal(get(all[1], 'destination.ip'), ADDR, diag);
    assert.equal(get(all[1], 'destination.domain'), NAME, diag);
    assert.equal(get(all[1], 'egresswatch.name_source'), 'dns', diag);
  });
});
