// Checks of libpcap: the binding loads, and a capture handle opens on each configured
// interface with the agent's own filter, buffer and snap length. lib/capture (and with it the
// native binding) is imported here, inside the check, so a binding that cannot load is a
// FAIL line instead of a crash.
import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveCapture } from '../capture/index.js';
import { agentCaptureFilter } from '../pipeline/capture-filter.js';
import { readResolvConf, uncapturedLocalResolvers } from '../pipeline/local-resolver.js';
import { DEFAULTS } from '../config/index.js';
import { errText, fail, ok, warn, type CheckResult } from './types.js';

export interface CaptureSettings {
  interfaces: string[];
  dnsPorts: number[];
  captureBufferBytes: number;
  snapLength: number;
  externalCidrs: readonly string[];
  internalCidrs: readonly string[];
  proxies: readonly { port: number }[];
}

/**
 * Fewer packets than this in the kernel ring is a warning: about 40 ms of a busy host's 100,000
 * packets a second, less than a major garbage collection of a large heap can take. The
 * defaults give 8,192.
 */
const MIN_RING_PACKETS = 4096;

/** How long to wait for libpcap to free a closed handle (lo and any are woken at once). */
const RELEASE_WAIT_MS = 2000;

export async function checkCapture(s: CaptureSettings): Promise<{ checks: CheckResult[]; held: boolean }> {
  let cap: typeof import('../capture/index.js');
  try {
    cap = await import('../capture/index.js');
    const version = cap.libpcapVersion();
    const checks: CheckResult[] = [ok('libpcap', version)];
    let held = false;
    for (const iface of s.interfaces) {
      const r = await openAndClose(cap, iface, s);
      checks.push(r.check);
      held ||= r.held;
    }
    return { checks, held };
  } catch (err) {
    return { checks: [fail('libpcap', `the capture binding does not load: ${errText(err)}`,
      'install libpcap (e.g. apt-get install libpcap0.8) and rebuild the binding (npm rebuild pcap)')], held: false };
  }
}

async function openAndClose(cap: typeof import('../capture/index.js'), iface: string, s: CaptureSettings): Promise<{ check: CheckResult; held: boolean }> {
  const name = `capture ${iface}`;
  let live: LiveCapture;
  try {
    live = cap.LiveCapture.open({
      interfaces: [iface], filter: agentCaptureFilter(s), bufferBytes: s.captureBufferBytes,
      snapLength: s.snapLength, immediate: true,
    }, () => undefined);
  } catch (err) {
    const message = (err as Error).message;
    return { check: fail(name, message, captureFix(iface, message)), held: false };
  }
  const link = live.linkTypes()[0]?.linkType;
  live.close();
  const released = await Promise.race([live.closed.then(() => true), sleep(RELEASE_WAIT_MS, undefined, { ref: false }).then(() => false)]);
  const ring = cap.ringPackets(s.captureBufferBytes, s.snapLength);
  const detail = `opened and closed (link type ${link}); the kernel ring holds about ${ring} packets`;
  if (live.warnings.length > 0) return { check: warn(name, `${detail}; libpcap says: ${live.warnings.join('; ')}`, 'check that the interface is up and configured'), held: !released };
  if (ring < MIN_RING_PACKETS) {
    return {
      check: warn(name, `${detail}: a burst of more while the agent is busy (garbage collection, a slow disk) is dropped`,
        `lower --snap-length (default ${DEFAULTS.snapLength}) or raise --capture-buffer: the ring holds about capture-buffer / (snap-length + 96) packets`),
      held: !released,
    };
  }
  return { check: ok(name, detail), held: !released };
}

/**
 * `local resolver`, only when it says something: the host's resolver answers on a loopback
 * address (resolv.conf under `hostRoot`) and the named interfaces leave lo out (local-resolver.ts).
 */
export function checkLocalResolver(interfaces: readonly string[], hostRoot: string): CheckResult | undefined {
  const unseen = uncapturedLocalResolvers(interfaces, readResolvConf(hostRoot));
  if (unseen.length === 0) return undefined;
  return warn('local resolver', `nameserver ${unseen.join(', ')} answers this host's programs over lo, which --interface ${interfaces.join(',')} does not capture: a name it answers from its cache leaves the connection unnamed by DNS`,
    'add --interface lo (or capture on any)');
}

function captureFix(iface: string, message: string): string {
  if (/not up/i.test(message)) return `bring the interface up (ip link set ${iface} up), or choose another with --interface`;
  if (/no such device|doesn't exist|not found|known interfaces/i.test(message)) {
    return "name an existing interface with --interface (see 'ip link'), or 'any' for all";
  }
  if (/permission|not permitted/i.test(message)) return 'grant CAP_NET_RAW and CAP_NET_ADMIN, or run as root';
  return 'grant CAP_NET_RAW and CAP_NET_ADMIN (or run as root) and name an interface that is up with --interface';
}
