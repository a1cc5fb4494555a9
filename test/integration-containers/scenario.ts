// Who runs where in the container test, in one place: three pods / containers (two versions of
// one image, one other image), the names they and the short-lived clients resolve, and the
// quick server that answers at once or after a few milliseconds.
import { randomBytes, randomUUID } from 'node:crypto';
import { DNS, type DnsSpec, type Endpoint } from '../integration/scenario.js';
import type { ContainerDef } from './hostroot.js';

/** The held server (300 ms, test/integration's servers.py) the containers reach by name. */
export const POD_TARGET = Object.freeze({ domain: 'api.example.com', addr: '203.0.113.10', port: 80, group: 'example.com' });

/** Answers at once (quick_server.py): no hold, so the client's socket lives well under 1 ms. */
export const QUICK_SERVER: Endpoint = Object.freeze({ addr: '203.0.113.10', port: 7001 });
/**
 * Answers after HELD_QUICK_MS: a client that connects, exchanges a few bytes and closes within a
 * few ms (the "under 10 ms"), whatever the speed of the machine.
 */
export const HELD_QUICK_SERVER: Endpoint = Object.freeze({ addr: '203.0.113.10', port: 7002 });
export const HELD_QUICK_MS = 3;

/** Short-lived clients: how many, and the name each one resolves (its own domain group, so an
 * unattributed connection still makes a host-level alert and counts against the rate). The
 * held server gets SHORT_LIVED_RUNS, the one that answers at once AT_ONCE_RUNS after them. */
export const SHORT_LIVED_RUNS = 200;
export const AT_ONCE_RUNS = 100;
/**
 * A resolver that answers after delayMs, as one that forwards upstream does (slow_dns.py, on a
 * service address of the test internet): svc.slowNNN.test → base + NNN, an address of its own
 * per run, served by the quick server's `port` (answers at once) on every address of `prefix`
 * (a local route in the namespace). A client's DNS socket then stays open for the round trip
 * while its connection is over within a millisecond: what per-process-dns attribution is for.
 */
export const SLOW_DNS = Object.freeze({ addr: '192.0.2.40', delayMs: 20, prefix: '203.0.113.128/26', base: '203.0.113.128', port: 7003 });
export const SLOW_DNS_RUNS = 50;
export function slowName(i: number): string {
  return `svc.slow${String(i).padStart(3, '0')}.test`;
}
export function slowGroup(i: number): string {
  return `slow${String(i).padStart(3, '0')}.test`;
}
export function quickName(i: number): string {
  return `svc.quick${String(i).padStart(3, '0')}.test`;
}
export function quickGroup(i: number): string {
  return `quick${String(i).padStart(3, '0')}.test`;
}

/** test/integration's names plus the quick ones; `.test` is answered locally only (RFC 6761). */
export const DNS_CONTAINERS: DnsSpec = Object.freeze<DnsSpec>({
  ...DNS,
  hostRecords: [...DNS.hostRecords, ...Array.from({ length: SHORT_LIVED_RUNS + AT_ONCE_RUNS }, (_, i) => [quickName(i), QUICK_SERVER.addr] as const)],
  localDomains: [...DNS.localDomains, 'test'],
});

export const IMAGES = Object.freeze({
  billing125: 'registry.example.com/team/billing:1.25',
  billing126: 'registry.example.com/team/billing:1.26',
  ledger: 'registry.example.com/team/ledger:3.0',
});

export const POD_COUNT = 3;

/**
 * The containers, with fresh ids per run. `uids` are two uids that have no name on this host;
 * the containers' passwd files name them billing-svc and ledger-svc.
 *   billing (1.25, cgroupfs driver) in pod 0 — the first alert
 *   billing (1.26, systemd driver)  in pod 1 — same repository: no alert
 *   ledger  (3.0,  systemd driver)  in pod 2 — other repository: an alert
 */
export function containerDefs(uids: readonly [number, number]): ContainerDef[] {
  const hex = () => randomBytes(32).toString('hex');
  const base = (pod: number, podName: string, podNamespace: string) => ({ id: hex(), sandboxId: hex(), podUid: randomUUID(), pod, podName, podNamespace });
  return [
    { ...base(0, 'billing-7d9f8c6b5-x2x9q', 'payments'), name: 'billing', image: IMAGES.billing125, driver: 'cgroupfs', user: { name: 'billing-svc', uid: uids[0] } },
    { ...base(1, 'billing-6c4f7d8b9-k7m2p', 'payments'), name: 'billing', image: IMAGES.billing126, driver: 'systemd', user: { name: 'billing-svc', uid: uids[0] } },
    { ...base(2, 'ledger-5b8d9f7c4-q9w8e', 'finance'), name: 'ledger', image: IMAGES.ledger, driver: 'systemd', user: { name: 'ledger-svc', uid: uids[1] } },
  ];
}
