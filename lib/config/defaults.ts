// Every default in one place. hostId is resolved by loadConfig() (machine-id, else the host
// name) because reading a file at import time would be a hidden side effect.
import os from 'node:os';
import type { AgentConfig, ListenAddress } from './types.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export const DEFAULT_MACHINE_ID_FILE = '/etc/machine-id';

export const DEFAULTS: Readonly<AgentConfig> = Object.freeze({
  interfaces: Object.freeze(['any']) as string[],
  stateDir: '/var/lib/egresswatch',
  alertsFile: '/var/log/egresswatch/alerts.json',
  procRoot: '/proc',
  hostName: os.hostname(),
  /** Empty here = "derive at load": /etc/machine-id if readable, else hostName. */
  hostId: '',
  // 24 h: long enough to see daily jobs (cron, backups, updates) before alerting on them.
  learningPeriodMs: 24 * HOUR,
  baselineWindowMs: 90 * DAY,
  // 10 s: most TLS handshakes and first requests complete well within it, so the alert can
  // carry the SNI and byte counts instead of bare addresses.
  alertDelayMs: 10 * SEC,
  internalCidrs: Object.freeze([]) as unknown as string[],
  externalCidrs: Object.freeze([]) as unknown as string[],
  dnsPorts: Object.freeze([53]) as number[],
  proxies: Object.freeze([]) as unknown as ListenAddress[],
  metricsListen: undefined,
  stdout: false,
  logLevel: 'info',
  // 32 MiB rather than libpcap's 2 MiB: 2 MiB is about 17 ms of a saturated 1 Gbit/s link,
  // so a short stall of the event loop would already drop packets.
  captureBufferBytes: 32 * 1024 * 1024,
  // 4000, not 65535: the agent captures in immediate mode (so that a connection's socket is
  // looked up while it still exists), where libpcap's kernel ring (TPACKET_V2) has one
  // fixed-size frame per packet of the snap length plus ~96 bytes, whatever the packet's size.
  // With 65535 the 32 MiB ring held 512 packets, so a burst of more while the agent was busy
  // (garbage collection, a slow disk) was dropped; with 4000 a frame is 4 KiB and the ring
  // holds 8,192 (capture.ringPackets; measured in test/capture/ring.test.ts). DNS answers
  // (EDNS: at most 1232-4096 bytes), TLS ClientHellos (~2 KB with a post-quantum key share)
  // and QUIC Initials (<= 1500) fit; byte counts come from the IP headers, not the capture.
  snapLength: 4000,
  dnsCacheSize: 100_000,
  dnsRetentionMs: HOUR,
  // A crash or SIGKILL loses at most this much of what DNS taught the agent (names.json).
  namesSaveIntervalMs: 5 * MIN,
  flowTableSize: 200_000,
  tcpIdleMs: 5 * MIN,
  udpIdleMs: 60 * SEC,
  passwdFile: '/etc/passwd',
  hostRoot: '/',
  dnsQueryWindowMs: 5_000,
  dnsAcceptUnmatched: false,
  ignoreForwarded: false,
  // Live: a connection open across an agent restart is judged at its next data. A replay turns it
  // off unless asked (agent/cli.ts), as Suricata's stream.midstream is off by default.
  midstream: true,
  nameOrder: undefined,
  format: 'ecs',
  alertsMaxBytes: 100 * 1024 * 1024,
  alertsMaxFiles: 5,
  collectorUrls: [],
  collectorTokenFile: undefined,
  collectorCa: undefined,
  collectorCert: undefined,
  collectorKey: undefined,
  syslogUrls: [],
  logFile: undefined,
  logFormat: 'auto',
  ptr: true,
  ptrServers: undefined,
  kernelTracing: true,
  parentDepth: 4,
  normalizeVersions: true,
  groupingRules: Object.freeze([]) as unknown as AgentConfig['groupingRules'],
  suppressions: Object.freeze([]) as unknown as AgentConfig['suppressions'],
  replayThreads: 0,
  statsJson: false,
});
