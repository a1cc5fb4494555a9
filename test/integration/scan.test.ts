// End to end, as root, live: this host scans (a raw socket sends a SYN to each of 300,000 new
// addresses of the test internet's 2001:db8:1::/64, 30,000 a second) while the agent runs with the
// heap a 512 MiB pod gets. New connections come faster than the agent can attribute and judge
// them; it used to queue their attributions and judgments without bound and ran out of heap
// (17 s into a scan of 10,000 a second). It must stay up and keep alerting: attributions and
// judgments waiting stay bounded (past the bounds a connection is judged for the host only, or
// counted and not judged, as the kernel counts the packets it has no room for), and it exits
// cleanly at the end.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { liveSuite } from './world.js';
import { AgentProcess, httpStatus, httpText } from './agent.js';
import { run, sleep } from './proc.js';
import { NET } from './netns.js';

const DESTINATIONS = 300_000;
const PER_SECOND = 30_000;
/** What Node gives a process in a 512 MiB memory cgroup (the DaemonSet's limit): ~259 MB. */
const HEAP_MB = 256;

/** SYNs from a raw socket to DESTINATIONS addresses under the routed test prefix; stops at 60 s whatever happens. */
const SCANNER = `import socket, struct, sys, time
n, rate, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.setsockopt(socket.IPPROTO_IPV6, 7, 16)  # IPV6_CHECKSUM: the kernel fills in the TCP checksum
start = time.time()
sent = 0
for i in range(n):
    dst = '%s%x:%x' % (prefix, (i >> 16) + 1, i & 0xffff)
    syn = struct.pack('!HHIIBBHHH', 40000 + i % 20000, 443, i * 2654435761 % 2**32, 0, 5 << 4, 0x02, 64240, 0, 0)
    s.sendto(syn, (dst, 0))
    sent += 1
    if i % 1000 == 999:
        ahead = start + (i + 1) / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
    if time.time() - start > 60:
        break
print(sent)
`;

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

describe('end to end, live: a scan from this host', function () {
  this.timeout(180_000);
  const w = liveSuite('live-scan');
  let agent: AgentProcess | undefined;

  w.cleanup(async () => {
    if (agent?.running) await agent.stop(10_000);
  });

  it(`${DESTINATIONS.toLocaleString('en-US')} new destinations at ${PER_SECOND.toLocaleString('en-US')} a second: the agent stays up within a ${HEAP_MB} MB heap and keeps alerting`, async () => {
    const state = path.join(w.tmp, 'state');
    fs.mkdirSync(state);
    const alertsFile = path.join(state, 'alerts.json');
    agent = await AgentProcess.start({
      stateDir: state, alertsFile, learningPeriod: '0', alertDelay: '10s', label: 'agent (scan)', nodeArgs: [`--max-old-space-size=${HEAP_MB}`],
    });
    const a = agent;
    const prefix = NET.routePrefixes6[0].replace(/::\/64$/, '::');
    const scan = run('python3', ['-c', SCANNER, String(DESTINATIONS), String(PER_SECOND), prefix], { timeoutMs: 90_000 });
    let maxPending = 0;
    let scanning = true;
    void scan.finally(() => { scanning = false; });
    while (scanning) {
      await sleep(1000);
      assert.ok(a.running, `the agent died during the scan${a.describe()}`);
      const m = await httpText(a.metricsPort, '/metrics', 5000).catch(() => '');
      maxPending = Math.max(maxPending, metric(m, 'egresswatch_attributions_pending') || 0);
    }
    const r = await scan;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Number(r.stdout.trim()), DESTINATIONS, 'every SYN sent');
    // Past the hold window (10 s) for what was judged last: until nothing is held or waiting and
    // the alert count stands still (bounded).
    let m = '';
    let last = -1;
    for (const end = Date.now() + 60_000; Date.now() < end;) {
      await sleep(2000);
      assert.ok(a.running, `the agent died after the scan${a.describe()}`);
      m = await httpText(a.metricsPort, '/metrics', 5000);
      const now = metric(m, 'egresswatch_alerts{kind="total"}');
      if (metric(m, 'egresswatch_alerts_held') === 0 && metric(m, 'egresswatch_attributions_pending') === 0 && now === last) break;
      last = now;
    }
    assert.equal(await httpStatus(a.metricsPort, '/healthz', 5000), 200);
    const alerts = metric(m, 'egresswatch_alerts{kind="total"}');
    const received = metric(m, 'egresswatch_capture_received{kind="any"}');
    const dropped = metric(m, 'egresswatch_capture_dropped{kind="any"}');
    const unjudged = metric(m, 'egresswatch_connections_unjudged');
    const evicted = metric(m, 'egresswatch_flow_evictions');
    const counts = `alerts ${alerts}, not judged ${unjudged}, SYNs sent ${DESTINATIONS}, received ${received}, dropped ${dropped}, flows evicted ${evicted}`;
    assert.ok(maxPending <= 8192, `attributions waiting: ${maxPending}`);
    // Each destination is new: every SYN the agent took in (not dropped by the kernel's capture
    // buffer) alerts, or is counted as not judged.
    assert.ok(alerts + unjudged >= (DESTINATIONS - dropped) * 0.95, counts);
    assert.ok(alerts >= 20_000, `it kept alerting: ${counts}`);
    const stopped = await a.stop(30_000);
    assert.equal(stopped.code, 0, `clean exit${a.describe()}`);
  });
});
