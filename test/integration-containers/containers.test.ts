// End to end, as root: attribution you can trust. The agent captures on `any` in the root
// namespace while clients run in Kubernetes-like containers (pod network namespace behind NAT,
// containerd cgroups and task bundle, own mount and pid namespaces, a user only the container's
// passwd names), and while short-lived clients in the root namespace connect to a server that
// answers at once. Checks: one alert per new (software, domain group), attributed to the process
// inside the pod with its container / pod identity, never a second one for the NATed copy;
// image tags do not make new software; and the short-lived attribution rate.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requirePrereq } from '../helpers/env.js';
import { AgentProcess, AGENT_CLI, httpText } from '../integration/agent.js';
import { get, readAlerts, waitForAlerts, type Alert } from '../integration/alerts.js';
import { wrapClient } from '../integration/clients.js';
import { run, sleep } from '../integration/proc.js';
import { ContainerWorldHandle, LOCK_WAIT_MS, missingPrereqs, type ContainerWorld } from './world.js';
import { CLIENT_SCRIPT, parseClientOutput, runInContainer, type Container } from './containers.js';
import { attributionRate, containerAlertProblems, describeAlert, podAlerts, type ShortRun } from './expect.js';
import { AT_ONCE_RUNS, HELD_QUICK_MS, HELD_QUICK_SERVER, POD_TARGET, QUICK_SERVER, SHORT_LIVED_RUNS, SLOW_DNS, SLOW_DNS_RUNS, quickGroup, quickName, slowGroup, slowName } from './scenario.js';

/** Longer than --alert-delay (1 s) plus flow end: a duplicate would be out by then. */
const SETTLE_MS = 2500;
const ALERT_WAIT_MS = 10_000;
/**
 * Lowest attribution rate accepted for clients that connect, exchange a few bytes and close
 * within a few ms (the held server answers after HELD_QUICK_MS: client connect → close p50
 * 3.5 ms, p90 4.6 ms). Measured over 200 runs on a quiet 2-core machine: 0.96-0.99 (six runs). Clients
 * of the same lifetime measured earlier on a machine shared with other test runs (load up to 6)
 * gave 0.34-0.56: what is missed is gone before the agent is handed the SYN (capture → handler
 * 0.15-0.4 ms quiet, up to 2.7 ms under load) or before the holder's fds are read. The bound
 * sits under the loaded figures; the rate itself is printed, and every alert that is
 * attributed must name the right process.
 */
const MIN_RATE = 0.3;
/**
 * Lowest attribution rate accepted for clients whose DNS lookup takes SLOW_DNS.delayMs and whose
 * connection is over at once: their TCP socket is mostly gone before the agent sees the SYN, the
 * DNS socket mostly not. Measured on a quiet 2-core machine, three runs of 50: 1.00 each (40-42
 * through per-process-dns, 8-10 through the connection's own socket; the same clients against
 * the resolver that answers at once: 0.10-0.20). The bound leaves room for a loaded machine.
 */
const MIN_DNS_RATE = 0.5;
/**
 * Lowest attribution rate accepted for clients of a server that answers at once when the connect
 * tracer and the exec watcher run (as root): measured 100/100 on a quiet 2-core machine.
 */
const MIN_TRACED_RATE = 0.9;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : Number.NaN;
}

describe('end to end: containers, namespaces, NAT, short-lived connections', function () {
  this.timeout(30_000);
  const handle = new ContainerWorldHandle();
  let w: ContainerWorld;
  let agent: AgentProcess | undefined;
  let alertsFile = '';
  let executable = '';

  const diag = (msg: string) => `${msg}\n--- alerts in ${alertsFile} ---\n${readAlerts(alertsFile).map(describeAlert).join('\n')}${agent?.describe() ?? ''}`;
  const pods = () => podAlerts(readAlerts(alertsFile), w.containers);
  const inContainer = (c: Container) => runInContainer(c, w.python, w.resolvConf, ['http', `http://${POD_TARGET.domain}/`]);

  before(async function () {
    this.timeout(LOCK_WAIT_MS + 60_000);
    const missing = missingPrereqs();
    if (!fs.existsSync(AGENT_CLI)) missing.push(`${AGENT_CLI} (build first)`);
    requirePrereq(this, missing.length === 0, `container end-to-end test needs: ${missing.join(', ')}`);
    w = await handle.start();
    executable = fs.realpathSync(w.python);
    const stateDir = path.join(w.dir, 'state');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    alertsFile = path.join(stateDir, 'alerts.json');
    agent = await AgentProcess.start({
      stateDir, alertsFile, learningPeriod: '0', hostName: 'e2e-containers', label: 'agent (containers)',
      extraArgs: ['--host-root', w.hostRoot, '--proc-root', '/proc'],
    });
  });

  after(async function () {
    this.timeout(30_000);
    let how: Awaited<ReturnType<AgentProcess['stop']>> | undefined;
    if (agent?.running) how = await agent.stop(5000);
    const left = await handle.teardown();
    assert.deepEqual(left, [], 'teardown left namespaces, links, NAT, cgroups or ip_forward behind');
    if (how) assert.ok(how.code === 0 && !how.killed, `agent did not exit 0 on SIGTERM: ${JSON.stringify(how)}${agent?.describe() ?? ''}`);
  });

  it('a container in a pod behind NAT: one alert, attributed inside the container, none for the NATed copy', async () => {
    const c = w.containers[0]!;
    const out = await inContainer(c);
    await waitForAlerts(alertsFile, () => pods().length >= 1, ALERT_WAIT_MS);
    await sleep(SETTLE_MS);
    const got = pods();
    assert.equal(got.length, 1, diag(`want exactly one alert for ${c.def.name} → ${POD_TARGET.domain} (not one more for the NATed copy), got ${got.length}`));
    const problems = containerAlertProblems(got[0]!, { c, pid: out.pid, executable, novelFor: ['host', 'software'] });
    assert.deepEqual(problems, [], diag(problems.join('\n')));
    // Captured live arriving from the pod's veth before the host sent it on: forwarded, and named by its process all the same.
    assert.equal(get(got[0]!, 'egresswatch.flow.forwarded'), true, diag('the pod connection is marked forwarded'));
    assert.doesNotMatch(String(get(got[0]!, 'message')), /forwarded by this host/, diag('a process was found: named, not "forwarded"'));
  });

  it('a new tag of the same image is the same software (no alert); another image is new (one alert)', async () => {
    const [, sameRepo, otherRepo] = w.containers as [Container, Container, Container];
    const before = pods().length;
    await inContainer(sameRepo);
    const other = await inContainer(otherRepo);
    await waitForAlerts(alertsFile, () => pods().length >= before + 1, ALERT_WAIT_MS);
    await sleep(SETTLE_MS);
    const fresh = pods().slice(before);
    const bySameRepo = fresh.filter((a: Alert) => get(a, 'container.id') === sameRepo.def.id || get(a, 'source.ip') === sameRepo.pod.podAddr);
    assert.deepEqual(bySameRepo.map(describeAlert), [], diag(`${sameRepo.def.image} alerted although ${w.containers[0]!.def.image} made the same connection`));
    assert.equal(fresh.length, 1, diag(`want exactly one alert, for ${otherRepo.def.image}; got ${fresh.length}`));
    const problems = containerAlertProblems(fresh[0]!, { c: otherRepo, pid: other.pid, executable, novelFor: ['software'] });
    assert.deepEqual(problems, [], diag(problems.join('\n')));
  });

  interface Names { name: (i: number) => string; group: (i: number) => string; resolvConf: string }
  const quick = (): Names => ({ name: quickName, group: quickGroup, resolvConf: w.resolvConf });

  /** `count` short-lived clients against `port`, each a fresh script resolving its own name (from index `from`): the rate report. */
  async function shortLived(label: string, port: number, from: number, count: number, names: Names = quick()) {
    const dir = path.join(w.dir, label);
    fs.mkdirSync(dir, { mode: 0o755 });
    const runs: ShortRun[] = [];
    const lifetimes: number[] = [];
    for (let i = from; i < from + count; i++) {
      // A fresh software per run: the same client under a new path.
      const script = path.join(dir, `quick_${String(i).padStart(3, '0')}.py`);
      fs.copyFileSync(CLIENT_SCRIPT, script);
      fs.chmodSync(script, 0o644);
      const [cmd, args] = wrapClient(names.resolvConf, [w.python, script, 'tcp', names.name(i), String(port)], w.user.name);
      const r = await run(cmd, args, { timeoutMs: 15_000, cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' } });
      const out = parseClientOutput(r.stdout);
      if (r.code !== 0 || !out || !out.reply.startsWith('ewtest-quick ')) throw new Error(`short-lived client ${i} failed (harness, not agent): ${r.stdout}\n${r.stderr}`);
      runs.push({ domain: names.name(i), group: names.group(i), script, pid: out.pid });
      lifetimes.push(out.elapsedMs);
    }
    const groups = new Set(runs.map((r) => r.group));
    await waitForAlerts(alertsFile, (a) => a.filter((x) => groups.has(String(get(x, 'egresswatch.domain_group')))).length >= runs.length, ALERT_WAIT_MS);
    await sleep(SETTLE_MS);
    const rep = attributionRate(readAlerts(alertsFile), runs);
    console.log(`      short-lived attribution (${label}): ${rep.attributed}/${rep.alerts} alerts = ${rep.rate.toFixed(2)}, ` +
      `${rep.runsAttributed}/${rep.runs} runs = ${rep.runRate.toFixed(2)}, methods ${JSON.stringify(rep.methods)}, ` +
      `right pid read while exiting ${JSON.stringify(rep.partial)}, ` +
      `client connect → close ms p50 ${quantile(lifetimes, 0.5)} p90 ${quantile(lifetimes, 0.9)}`);
    const msg = diag(`attribution of short-lived connections (${label}): ${JSON.stringify(rep)}`);
    assert.deepEqual(rep.duplicates, [], msg);
    // One alert per run, each under its own group: a connection credited to another run's
    // process would be named by that process's lookup and vanish into its group's alert.
    assert.equal(rep.alerts, count, msg);
    assert.equal(rep.misattributed, 0, msg);
    // The right process, read as it exited: rare, and never a wrong process.
    assert.ok(rep.partial.length <= Math.max(2, rep.alerts * 0.02), msg);
    return { rep, msg };
  }

  it(`short-lived root-namespace clients that live ~${HELD_QUICK_MS} ms: attribution rate ≥ ${MIN_RATE}, never a wrong process`, async function () {
    this.timeout(240_000);
    const { rep, msg } = await shortLived('held', HELD_QUICK_SERVER.port, 0, SHORT_LIVED_RUNS);
    assert.ok(rep.rate >= MIN_RATE, msg);
    assert.ok(rep.runRate >= MIN_RATE, msg);
  });

  it(`short-lived clients against a server that answers at once: with the connect tracer attached, rate ≥ ${MIN_TRACED_RATE}; never a wrong process`, async function () {
    this.timeout(240_000);
    // Such a client (connect → close ~0.5 ms, its DNS socket ~0.3 ms) has mostly closed both
    // sockets by the time their packets reach the agent (capture → handler 0.15-0.4 ms measured;
    // netlink found the socket only when that took under ~0.23 ms): 9-20% were attributed on a
    // quiet, fast machine, 34-56% on a slower one. The connect tracer does not race the client:
    // the kernel recorded its connect(), and the exec watcher copied it at its exec.
    const { rep, msg } = await shortLived('at-once', QUICK_SERVER.port, SHORT_LIVED_RUNS, AT_ONCE_RUNS);
    const metrics = await httpText(agent!.metricsPort, '/metrics', 2000);
    assert.match(metrics, /^egresswatch_attribution_tracer\{kind="attached"\} 1$/m, `the connect tracer is attached as root: ${msg}`);
    assert.ok(rep.rate >= MIN_TRACED_RATE && rep.runRate >= MIN_TRACED_RATE, msg);
  });

  it(`clients that close at once after a DNS lookup of ${SLOW_DNS.delayMs} ms: named through their DNS socket (per-process-dns), never a wrong process`, async function () {
    this.timeout(240_000);
    // The resolver answers after 20 ms (one that forwards upstream does), so each client's DNS
    // socket is open long enough to be found, while its connection is over within a
    // millisecond; every run's name has an address of its own, so only its own process was
    // given it.
    // The fallback of an agent without the connect tracer (no CAP_BPF, --kernel-tracing off):
    // with it, these are named by their own connect() first. A new agent, state and alerts file.
    assert.equal((await agent!.stop()).code, 0, diag('the first agent stops cleanly'));
    const stateDir = path.join(w.dir, 'state-untraced');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    alertsFile = path.join(stateDir, 'alerts.json');
    agent = await AgentProcess.start({
      stateDir, alertsFile, learningPeriod: '0', hostName: 'e2e-containers', label: 'agent (containers, untraced)',
      extraArgs: ['--host-root', w.hostRoot, '--proc-root', '/proc', '--kernel-tracing', 'off'],
    });
    const slow: Names = { name: slowName, group: slowGroup, resolvConf: w.slowResolvConf };
    const { rep, msg } = await shortLived('slow-dns', SLOW_DNS.port, 0, SLOW_DNS_RUNS, slow);
    assert.ok((rep.methods['per-process-dns'] ?? 0) > 0, msg);
    assert.ok(rep.rate >= MIN_DNS_RATE, msg);
  });
});
