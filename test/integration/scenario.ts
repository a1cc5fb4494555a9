// The one place that says which names exist in the test "internet", where they point and which
// server answers there; dnsmasq, the servers, the clients and the assertions all read it.

export interface DnsSpec {
  /** dnsmasq --address=/name/ip: the name and everything under it. */
  address: ReadonlyArray<readonly [string, string]>;
  /** dnsmasq --host-record=name,ip[,ip6]. */
  hostRecords: ReadonlyArray<readonly [string, ...string[]]>;
  /** dnsmasq --cname=alias,target. */
  cnames: ReadonlyArray<readonly [string, string]>;
  /** Answered only from the records above (NXDOMAIN / NODATA otherwise): nothing is forwarded. */
  localDomains: readonly string[];
}

export const DNS: DnsSpec = Object.freeze<DnsSpec>({
  address: [['api.example.com', '203.0.113.10']],
  hostRecords: [
    ['edge.cdn-example.org', '203.0.113.20'],
    ['files.example.org', '192.0.2.30'],
    ['mybucket.s3.us-west-2.amazonaws.com', '192.0.2.40'],
    ['v6.example.com', '2001:db8:1::10'],
  ],
  cnames: [['www.example.net', 'edge.cdn-example.org']],
  localDomains: ['example.com', 'example.net', 'example.org', 'cdn-example.org', 'amazonaws.com'],
});

export interface Endpoint {
  addr: string;
  port: number;
}

/** TCP servers; each holds a connection HOLD_MS before answering (see servers.py). */
export const TCP_SERVERS: readonly Endpoint[] = [
  { addr: '203.0.113.10', port: 80 },
  { addr: '203.0.113.20', port: 80 },
  { addr: '192.0.2.30', port: 8080 },
  { addr: '192.0.2.40', port: 443 },
];
export const TCP_SERVERS6: readonly Endpoint[] = [{ addr: '2001:db8:1::10', port: 80 }];
/** UDP echo (away from the DNS ports, so no DNS decoder mistakes it for DNS). */
export const UDP_SERVERS: readonly Endpoint[] = [{ addr: '192.0.2.30', port: 9999 }];

/**
 * Why the servers wait before answering: the agent finds the owning process by reading
 * /proc/net/* and /proc/PID/fd after it sees the SYN; a connection that is over within a few
 * milliseconds can be gone before that (very short-lived connections are a later issue).
 */
export const HOLD_MS = 300;
/** Reply size: a few KB so bytes are clearly > 0 in both directions. */
export const REPLY_BYTES = 6000;

/** Name of the non-root user the clients run as. */
export const TEST_USER = 'ewtest';
