// End to end, as root: the agent (dist/agent/cli.js) captures on `any` while four clients —
// curl, a python script, a node script, a JAR — run as the non-root test user and reach servers
// in a network namespace by name. Checks one alert per new (software, domain group) with the
// right who / where / how much, then silence on a second run, after a restart on the same
// baseline, and during a learning period.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { liveSuite } from './world.js';
import { AgentProcess } from './agent.js';
import { get, readAlerts, summarize, waitForAlerts } from './alerts.js';
import { alertProblems, canary, ours, runAll } from './expect.js';
import { sleep } from './proc.js';

const HOST = 'e2e-host';
/** Longer than --alert-delay (1 s) plus flow end: whatever would be emitted has been by then. */
const SETTLE_MS = 2500;
const ALERT_WAIT_MS = 10_000;

describe('end to end: the agent against the test internet', function () {
  this.timeout(30_000);
  const w = liveSuite('end-to-end');
  let agent: AgentProcess | undefined;
  /** Every agent run of the suite: a phase that fails often needs the previous run's log too. */
  const runs: AgentProcess[] = [];
  const stateA = () => path.join(w.tmp, 'state-a');
  const alertsA = () => path.join(w.tmp, 'state-a', 'alerts.json');

  const diag = (msg: string, file?: string) => {
    const all = file ? readAlerts(file) : [];
    return `${msg}\n--- alerts in ${file} ---\n${all.map(summarize).join('\n')}${runs.slice(-2).map((r) => r.describe()).join('')}`;
  };

  const start = async (stateDir: string, alertsFile: string, learningPeriod: string) => {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const label = `agent #${runs.length + 1} (${path.basename(stateDir)}, learning ${learningPeriod}, ${path.basename(alertsFile)})`;
    agent = await AgentProcess.start({ stateDir, alertsFile, learningPeriod, hostName: HOST, label });
    runs.push(agent);
    return agent;
  };

  const stopCleanly = async (file: string) => {
    const a = agent!;
    const how = await a.stop();
    assert.ok(how.code === 0 && !how.killed, diag(`agent did not exit 0 on SIGTERM: ${JSON.stringify(how)}`, file));
  };

  /** Run the known clients (expect no alert), then a canary (expect exactly its alert). */
  const quietThenCanary = async (file: string, tag: string) => {
    await runAll(w.kit, w.kit.clients);
    await sleep(SETTLE_MS);
    const quiet = ours(readAlerts(file), w.user);
    const c = canary(w.kit, tag);
    const pids = await runAll(w.kit, [c]);
    await waitForAlerts(file, (a) => ours(a, w.user).length > quiet.length, ALERT_WAIT_MS);
    await stopCleanly(file);
    assert.deepEqual(quiet.map(summarize), [], diag('known clients alerted again', file));
    const got = ours(readAlerts(file), w.user);
    assert.equal(got.length, 1, diag(`want exactly the canary's alert, got ${got.length}`, file));
    const problems = alertProblems(got[0]!, { spec: c, pid: pids.get(c.softwareId)!, user: w.user, hostName: HOST, novelFor: ['software'] });
    assert.deepEqual(problems, [], diag(problems.join('\n'), file));
  };

  w.cleanup(async () => {
    if (agent?.running) await agent.stop(5000);
  });

  it('first run: one alert per new (software, domain group), with who, where and how much', async () => {
    await start(stateA(), alertsA(), '0');
    const pids = await runAll(w.kit, w.kit.clients);
    await waitForAlerts(alertsA(), (a) => ours(a, w.user).length >= w.kit.clients.length, ALERT_WAIT_MS);
    await sleep(SETTLE_MS); // a duplicate would show up within the alert delay
    const got = ours(readAlerts(alertsA()), w.user);
    const problems: string[] = [];
    for (const spec of w.kit.clients) {
      const mine = got.filter((a) => get(a, 'egresswatch.software.id') === spec.softwareId);
      if (mine.length !== 1) {
        problems.push(`${spec.label} (${spec.softwareId} → ${spec.domainGroup}): ${mine.length} alerts, want 1`);
        continue;
      }
      // Each group is reached by one software only, so each alert is new for the host too.
      problems.push(...alertProblems(mine[0]!, { spec, pid: pids.get(spec.softwareId)!, user: w.user, hostName: HOST, novelFor: ['host', 'software'] }));
    }
    const ids = new Set(w.kit.clients.map((c) => c.softwareId));
    for (const a of got.filter((x) => !ids.has(String(get(x, 'egresswatch.software.id'))))) problems.push(`unexpected alert ${summarize(a)}`);
    assert.deepEqual(problems, [], diag(problems.join('\n'), alertsA()));
  });

  it('second run against the same agent: no new alert', async () => {
    assert.ok(agent?.running, diag('the agent of the first run is not running', alertsA()));
    const countBefore = ours(readAlerts(alertsA()), w.user).length;
    await runAll(w.kit, w.kit.clients);
    await sleep(SETTLE_MS);
    await stopCleanly(alertsA()); // flushes anything still held
    const fresh = ours(readAlerts(alertsA()), w.user).slice(countBefore);
    assert.deepEqual(fresh.map(summarize), [], diag('the second run alerted', alertsA()));
  });

  it('restart on the same state dir: the baseline persisted, no alert (a new software still alerts)', async () => {
    const file = path.join(w.tmp, 'alerts-restart.json');
    await start(stateA(), file, '0');
    await quietThenCanary(file, 'restart');
  });

  it('fresh state dir with a 1 h learning period: no alert', async () => {
    const stateL = path.join(w.tmp, 'state-learning');
    const file = path.join(w.tmp, 'alerts-learning.json');
    await start(stateL, file, '1h');
    await runAll(w.kit, [...w.kit.clients, canary(w.kit, 'learning')]);
    await sleep(SETTLE_MS);
    await stopCleanly(file);
    assert.deepEqual(ours(readAlerts(file), w.user).map(summarize), [], diag('alerted during the learning period', file));
  });

  it('what the learning period saw is baseline once learning is off (a new software still alerts)', async () => {
    const file = path.join(w.tmp, 'alerts-learned.json');
    await start(path.join(w.tmp, 'state-learning'), file, '0');
    await quietThenCanary(file, 'learned');
  });
});
