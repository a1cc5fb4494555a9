// How long a burst the kernel keeps while the agent is busy. In immediate mode libpcap's ring
// has one fixed-size frame per packet, of the snap length plus headers: with the old default
// snap length (65535) a 32 MiB ring held 512 packets, so any burst of more while the event loop
// was held (a garbage collection, a slow disk) was dropped. A child process in a network
// namespace made here captures on `any` with the agent's settings, holds its event loop for
// 3 s while a burst of UDP datagrams to 2001:db8:2::/64 is sent (out of a veth whose other end,
// in a second namespace made here, drops them), then counts. Needs root, ip and python3.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DEFAULTS } from '../../lib/config/index.js';
import { ringPackets } from '../../lib/capture/index.js';
import { REPO_ROOT, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

/** The compiled child program (ring-burst.ts). */
const CHILD = path.join(REPO_ROOT, 'dist', 'test', 'capture', 'ring-burst.js');

interface Burst { sent: number; senderExit: number; got: number; dropped: number }

describe('capture: the kernel ring holds a burst while the agent is busy', function () {
  this.timeout(60_000);
  const sfx = randomBytes(2).toString('hex');
  const ns = `ewring-${sfx}`;
  /** Where the veth's other end sits, up and without an address: it drops what it receives. */
  const sink = `ewsink-${sfx}`;
  const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

  before(function () {
    requirePrereq(this, isRoot(), 'root for network namespaces and live capture');
    requirePrereq(this, haveCommand('ip') && haveCommand('python3'), 'ip (iproute2) and python3');
    ip('netns', 'add', ns);
    ip('netns', 'add', sink);
    ip('-n', ns, 'link', 'add', 'ewr0', 'type', 'veth', 'peer', 'name', 'ewr1', 'netns', sink);
    ip('-n', sink, 'link', 'set', 'ewr1', 'up');
    const inNs = (...args: string[]): string => ip('-n', ns, ...args);
    inNs('link', 'set', 'lo', 'up');
    inNs('addr', 'add', 'fd00:5::1/64', 'dev', 'ewr0', 'nodad');
    inNs('link', 'set', 'ewr0', 'up');
    // A gateway that needs no neighbour discovery: every datagram leaves through ewr0 at once.
    inNs('neigh', 'add', 'fd00:5::2', 'lladdr', '02:00:00:00:00:02', 'dev', 'ewr0', 'nud', 'permanent');
    inNs('-6', 'route', 'add', '2001:db8:2::/64', 'via', 'fd00:5::2');
  });
  after(() => {
    for (const n of [ns, sink]) {
      try {
        ip('netns', 'del', n);
      } catch {
        // not made (prerequisite missing)
      }
    }
  });

  function burst(bufferBytes: number, snapLength: number, datagrams: number): Burst {
    const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, CHILD, String(bufferBytes), String(snapLength), String(datagrams)],
      { encoding: 'utf8', timeout: 30_000 });
    const r = JSON.parse(out.trim().split('\n').pop() as string) as Burst;
    assert.equal(r.senderExit, 0, out);
    return r;
  }

  it('with the defaults, a burst of 6,000 datagrams while the event loop is held: every one comes through', () => {
    const r = burst(DEFAULTS.captureBufferBytes, DEFAULTS.snapLength, 6000);
    assert.equal(r.dropped, 0, JSON.stringify(r));
    assert.equal(r.got, 6000, JSON.stringify(r));
  });

  it('a longer burst fills the ring: what comes through is what ringPackets() says it holds', () => {
    for (const snap of [DEFAULTS.snapLength, 65535]) {
      const ring = ringPackets(DEFAULTS.captureBufferBytes, snap);
      const r = burst(DEFAULTS.captureBufferBytes, snap, ring + 2000);
      assert.ok(r.dropped > 0, `snap ${snap}: ${JSON.stringify(r)}`);
      // The ring's packets, give or take the few read before the event loop was held.
      assert.ok(Math.abs(r.got - ring) <= ring * 0.02 + 2, `snap ${snap}: ring ${ring}, ${JSON.stringify(r)}`);
    }
  });
});
