// The addresses of this host (the agent's network namespace, the one it captures in): a
// connection whose responder is one of them came in from outside (a client of a service here:
// sshd, a web server, a WireGuard endpoint), or from a container to the host. Neither is egress,
// however external the address is: a host with a public address on its interface (most bare
// metal and VPS hosts) would otherwise alert on its own address at the first inbound connection,
// "forwarded by this host". Live only: a replay's capture is another host's, whose addresses
// are not known (give them with --internal-cidr there).
//
// Read with os.networkInterfaces() (getifaddrs, ~100 µs), at start and then every
// HOST_ADDRESSES_REFRESH_MS from the agent's timer, off the packet path: addresses change
// rarely (DHCP, IPv6 privacy addresses, an interface brought up), and a connection to an
// address added in the last seconds is judged as before. getifaddrs (as libuv asks it) lists
// only interfaces that are up; the kernel's local routes (/proc/self/net/fib_trie, and
// if_inet6 for IPv6) also hold the addresses of interfaces that are down but still local, as
// kube-proxy's IPVS mode puts every service, external and load balancer address on its down
// kube-ipvs0: a pod's connection to its own cluster's public service address never leaves.
//
// The same listing gives the interfaces' hardware addresses. On a capture of named interfaces
// (Ethernet frames, no Linux cooked header with its packet type) they tell a frame this host
// sent (its source address is one of them) from one another machine sent, which this host
// forwards: a router's clients, a VM host's guests on a bridge (Flow.forwarded). The interfaces
// listed are those with an address, which every interface this host sends IP from has (a bond's
// or a bridge's ports have none, and send with the bond's or the bridge's address); the captured
// interfaces' own addresses are read from sysfs too, for one without an address that sends with
// its own (a bond's port in the balance-tlb and balance-alb modes).
import fs from 'node:fs';
import os from 'node:os';
import { canonicalAddress, isLoopbackText } from '../decode/index.js';
import { localAddresses } from '../procfs/index.js';

export const HOST_ADDRESSES_REFRESH_MS = 5_000;

export type InterfaceLister = () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;

/** The agent's own namespace's local addresses from the kernel's tables; [] where they cannot be read. */
export function kernelLocalAddresses(net = '/proc/self/net'): string[] {
  return localAddresses((file) => {
    try {
      return fs.readFileSync(`${net}/${file}`, 'latin1');
    } catch {
      return undefined;
    }
  });
}

export class HostAddresses {
  readonly stats = { refreshes: 0, errors: 0 };
  private set = new Set<string>();
  /** The interfaces' hardware addresses as 48-bit numbers (macNumber): lo's all-zero one too. */
  private macs = new Set<number>();

  /**
   * `captured`: the interfaces captured by name, whose hardware addresses are read with
   * `readMac` (/sys/class/net/NAME/address) besides the listing's.
   */
  constructor(private readonly list: InterfaceLister = os.networkInterfaces, private readonly kernel: () => string[] = kernelLocalAddresses,
    private readonly captured: readonly string[] = [], private readonly readMac: (name: string) => string | undefined = sysfsMac) {
    this.refresh();
  }

  /** Whether `ip` (as decode's addressToString gives it) is one of this host's addresses. */
  has(ip: string): boolean {
    return this.set.has(ip);
  }

  get size(): number {
    return this.set.size;
  }

  /**
   * Whether `mac` (a frame's address as decode's u48 reads it) is one of this host's interfaces':
   * a frame whose source it is was sent by this host. undefined while none are known (they could
   * not be read): the caller cannot tell.
   */
  sentByThisHost(mac: number): boolean | undefined {
    return this.macs.size === 0 ? undefined : this.macs.has(mac);
  }

  /** Reads the addresses again; on an error the last ones are kept (and counted). */
  refresh(): void {
    try {
      const next = new Set<string>();
      const macs = new Set<number>();
      for (const infos of Object.values(this.list())) {
        for (const info of infos ?? []) {
          const mac = macNumber(info.mac);
          if (mac !== undefined) macs.add(mac);
          // Zone ids ("fe80::1%eth0") are dropped: packet addresses carry none.
          const text = canonicalAddress(info.address);
          // Loopback addresses are the classifier's (internal unless --external-cidr says so).
          // Other addresses on lo are the host's: a service address (a load balancer's direct
          // server return, an anycast address) that clients out there connect to.
          if (text !== undefined && !isLoopbackText(text)) next.add(text);
        }
      }
      for (const name of this.captured) {
        const mac = macNumber(this.readMac(name));
        if (mac !== undefined) macs.add(mac);
      }
      for (const address of this.kernel()) {
        const text = canonicalAddress(address);
        if (text !== undefined && !isLoopbackText(text)) next.add(text);
      }
      this.set = next;
      this.macs = macs;
      this.stats.refreshes++;
    } catch {
      this.stats.errors++;
    }
  }
}

/** An interface's hardware address as sysfs gives it, or undefined. */
function sysfsMac(name: string): string | undefined {
  try {
    return fs.readFileSync(`/sys/class/net/${name}/address`, 'latin1').trim();
  } catch {
    return undefined;
  }
}

/** "02:fc:00:00:00:01" as a 48-bit number (what u48 reads from a frame), or undefined. */
export function macNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text)) return undefined;
  return parseInt(text.replace(/:/g, ''), 16);
}

