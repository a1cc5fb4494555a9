// "The internet" for end-to-end tests: one network namespace joined to the root namespace by a
// veth pair, with the RFC 5737 / RFC 3849 service addresses on its loopback and host routes to
// them. Clients stay in the root namespace (the agent attributes through the host's /proc/net),
// so the only change to the host is one veth end and the routes below, all removed on teardown.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { run, runOk, sleep } from './proc.js';

/** argv of `ip` that runs `argv` inside network namespace `name` (for `ip(...)` or a Daemon of 'ip'). */
export function inNs(name: string, ...argv: string[]): string[] {
  return ['netns', 'exec', name, ...argv];
}

/**
 * Deletes network namespaces a test made (each `ip netns del` bounded); returns those still
 * listed after, for the test's after() to fail on.
 */
export function deleteNamespaces(names: readonly string[]): string[] {
  for (const n of names) spawnSync('ip', ['netns', 'del', n], { timeout: 10_000 });
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]);
  return names.filter((n) => listed.includes(n));
}

/** Runs `ip args...` synchronously; a failure fails the test with ip's message. */
export function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
}

export const NET = Object.freeze({
  hostAddr: '198.51.100.1',
  nsAddr: '198.51.100.2',
  linkPrefix: 30,
  hostAddr6: '2001:db8:ffff::1',
  nsAddr6: '2001:db8:ffff::2',
  /** Addresses the servers listen on, inside the namespace. */
  serviceAddrs: ['203.0.113.10', '203.0.113.20', '192.0.2.30', '192.0.2.40'] as readonly string[],
  serviceAddrs6: ['2001:db8:1::10'] as readonly string[],
  /** Wanted routes; a prefix the host already routes elsewhere falls back to /32 host routes. */
  routePrefixes: ['203.0.113.0/24', '192.0.2.0/24'] as readonly string[],
  routePrefixes6: ['2001:db8:1::/64'] as readonly string[],
});

/** Prefixes of everything the harness names, so leftovers of a killed run can be found. */
export const PREFIX = Object.freeze({ ns: 'ewext-', hostIf: 'ewh-', nsIf: 'ewn-' });

export interface Topology {
  readonly ns: string;
  readonly hostIf: string;
  readonly nsIf: string;
  readonly ipv6: boolean;
  /** Routes added in the root namespace, as given to `ip route add`. */
  readonly routes: readonly string[];
  /** argv prefix that runs a command inside the namespace. */
  nsExec(cmd: string, ...args: string[]): [string, string[]];
  /** Removes everything created; returns what could not be removed (empty when clean). */
  teardown(): Promise<string[]>;
}

export interface TopologyOptions {
  ipv6?: boolean;
}

export async function createTopology(opts: TopologyOptions = {}): Promise<Topology> {
  await cleanupLeftovers();
  const sfx = randomBytes(2).toString('hex');
  const ns = PREFIX.ns + sfx;
  const hostIf = PREFIX.hostIf + sfx;
  const nsIf = PREFIX.nsIf + sfx;
  const ipv6 = opts.ipv6 ?? true;
  const routes: string[] = [];
  const topo: Topology = {
    ns, hostIf, nsIf, ipv6, routes,
    nsExec: (cmd, ...args) => ['ip', ['netns', 'exec', ns, cmd, ...args]],
    teardown: () => teardown(ns, hostIf, routes),
  };
  try {
    await build(topo, routes);
  } catch (e) {
    const left = await topo.teardown();
    throw new Error(`topology setup failed: ${(e as Error).message}${left.length ? `; teardown left: ${left.join(', ')}` : ''}`, { cause: e });
  }
  return topo;
}

async function build(t: Topology, routes: string[]): Promise<void> {
  const ip = (...a: string[]) => runOk('ip', a, { timeoutMs: 5000 });
  await ip('netns', 'add', t.ns);
  await ip('link', 'add', t.hostIf, 'type', 'veth', 'peer', 'name', t.nsIf, 'netns', t.ns);
  await ip('addr', 'add', `${NET.hostAddr}/${NET.linkPrefix}`, 'dev', t.hostIf);
  await ip('-n', t.ns, 'addr', 'add', `${NET.nsAddr}/${NET.linkPrefix}`, 'dev', t.nsIf);
  for (const a of NET.serviceAddrs) await ip('-n', t.ns, 'addr', 'add', `${a}/32`, 'dev', 'lo');
  if (t.ipv6) {
    // nodad: duplicate address detection would hold the addresses "tentative" for ~1 s.
    await ip('-6', 'addr', 'add', `${NET.hostAddr6}/64`, 'dev', t.hostIf, 'nodad');
    await ip('-n', t.ns, '-6', 'addr', 'add', `${NET.nsAddr6}/64`, 'dev', t.nsIf, 'nodad');
    for (const a of NET.serviceAddrs6) await ip('-n', t.ns, '-6', 'addr', 'add', `${a}/128`, 'dev', 'lo');
  }
  await ip('-n', t.ns, 'link', 'set', 'lo', 'up');
  await ip('-n', t.ns, 'link', 'set', t.nsIf, 'up');
  await ip('link', 'set', t.hostIf, 'up');
  for (const p of NET.routePrefixes) {
    for (const r of await routesFor(p)) {
      await ip('route', 'add', r, 'via', NET.nsAddr, 'dev', t.hostIf);
      routes.push(r);
    }
  }
  if (t.ipv6) {
    for (const p of NET.routePrefixes6) {
      await ip('-6', 'route', 'add', p, 'via', NET.nsAddr6, 'dev', t.hostIf);
      routes.push(p);
    }
  }
}

/**
 * The prefix itself when the host has no route for exactly it; otherwise (a test host whose
 * own LAN is 192.0.2.0/24, say) one /32 per service address in it, so the host's own network
 * and gateway keep working and only our addresses are diverted.
 */
async function routesFor(prefix: string): Promise<string[]> {
  const existing = await runOk('ip', ['route', 'show', 'exact', prefix], { timeoutMs: 5000 });
  if (existing.stdout.trim() === '') return [prefix];
  const base = prefix.split('/')[0]!.split('.').slice(0, 3).join('.') + '.';
  const hosts = NET.serviceAddrs.filter((a) => a.startsWith(base));
  for (const h of hosts) {
    const local = await run('ip', ['route', 'show', 'table', 'local', h], { timeoutMs: 5000 });
    if (local.stdout.trim() !== '') throw new Error(`service address ${h} is an address of this host; cannot divert it`);
  }
  return hosts.map((h) => `${h}/32`);
}

async function teardown(ns: string, hostIf: string, routes: readonly string[]): Promise<string[]> {
  for (const r of routes) {
    await run('ip', [...(r.includes(':') ? ['-6'] : []), 'route', 'del', r, 'via', r.includes(':') ? NET.nsAddr6 : NET.nsAddr], { timeoutMs: 5000 });
  }
  await killNamespacePids(ns);
  await run('ip', ['link', 'del', hostIf], { timeoutMs: 5000 });
  await run('ip', ['netns', 'del', ns], { timeoutMs: 5000 });
  const left = await leftovers();
  return [...left.namespaces.filter((n) => n === ns), ...left.links.filter((l) => l === hostIf), ...left.routes];
}

/**
 * Processes still inside a namespace of ours (a server or dnsmasq that was not stopped, or
 * one from a run that was killed) keep it alive after `ip netns del`: end them by pid.
 */
async function killNamespacePids(ns: string): Promise<void> {
  for (const signal of ['TERM', 'KILL']) {
    const r = await run('ip', ['netns', 'pids', ns], { timeoutMs: 5000 });
    const pids = r.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p));
    if (pids.length === 0) return;
    await run('kill', [`-${signal}`, ...pids], { timeoutMs: 5000 });
    for (let i = 0; i < 20; i++) {
      const again = await run('ip', ['netns', 'pids', ns], { timeoutMs: 5000 });
      if (again.stdout.trim() === '') return;
      await sleep(50);
    }
  }
}

export interface Leftovers {
  namespaces: string[];
  links: string[];
  /** Routes in the root namespace through our namespace's link addresses. */
  routes: string[];
}

/** What of ours exists now: namespaces and links by prefix, routes by gateway. */
export async function leftovers(): Promise<Leftovers> {
  const nsList = await run('ip', ['netns', 'list'], { timeoutMs: 5000 });
  const namespaces = nsList.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n.startsWith(PREFIX.ns));
  const links = (await run('ip', ['-o', 'link', 'show'], { timeoutMs: 5000 })).stdout.split('\n')
    .map((l) => (l.split(':')[1] ?? '').trim().split('@')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX.hostIf));
  const r4 = await run('ip', ['route', 'show'], { timeoutMs: 5000 });
  const r6 = await run('ip', ['-6', 'route', 'show'], { timeoutMs: 5000 });
  const routes = [...r4.stdout.split('\n'), ...r6.stdout.split('\n')]
    .filter((l) => l.includes(`via ${NET.nsAddr} `) || l.includes(`via ${NET.nsAddr6} `) || l.includes(` dev ${PREFIX.hostIf}`))
    .map((l) => l.trim());
  return { namespaces, links, routes };
}

/** Removes namespaces, links and routes left by earlier runs that could not tear down. */
export async function cleanupLeftovers(): Promise<void> {
  const left = await leftovers();
  for (const ns of left.namespaces) await killNamespacePids(ns);
  for (const l of left.links) await run('ip', ['link', 'del', l], { timeoutMs: 5000 });
  for (const ns of left.namespaces) await run('ip', ['netns', 'del', ns], { timeoutMs: 5000 });
  for (const r of (await leftovers()).routes) {
    const dst = r.split(/\s+/)[0]!;
    await run('ip', [...(dst.includes(':') ? ['-6'] : []), 'route', 'del', dst], { timeoutMs: 5000 });
  }
}
