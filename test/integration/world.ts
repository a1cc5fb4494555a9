// The whole test internet in one call: namespace, resolver, servers, clients. teardown() is
// idempotent and safe on a half-built world, so before() can call it when setup fails and
// after() always calls it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRoot, haveCommand } from '../helpers/env.js';
import { createTopology, type Topology } from './netns.js';
import { startDnsmasq, DNSMASQ_BIN } from './dnsmasq.js';
import { startServers } from './servers.js';
import { TEMP_PREFIX, ensureTestUser, findPython, prepareClients, type ClientKit, type TestUser } from './clients.js';
import type { Daemon } from './proc.js';
import { HarnessLock } from './lock.js';
import { DNS, HOLD_MS, REPLY_BYTES, TCP_SERVERS, TCP_SERVERS6, UDP_SERVERS } from './scenario.js';

/** Another run holds the machine's test internet for ~50 s at most (the end-to-end suite). */
export const DEFAULT_LOCK_WAIT_MS = 120_000;

export interface World {
  topo: Topology;
  dnsmasq: Daemon;
  servers: Daemon;
  kit: ClientKit;
  user: TestUser;
  /** Output tails of the helpers, for failure messages. */
  describe(): string;
}

/** Missing prerequisites, by name; empty when the harness can run here. */
export function missingPrereqs(): string[] {
  const missing: string[] = [];
  if (!isRoot()) missing.push('root');
  for (const c of ['ip', 'curl', 'java', 'javac', 'jar', 'unshare', 'setpriv', 'useradd', 'getent', 'flock']) {
    if (!haveCommand(c)) missing.push(c);
  }
  if (!fs.existsSync(DNSMASQ_BIN)) missing.push(DNSMASQ_BIN);
  if (!findPython()) missing.push('python3 runnable by other users (/usr/bin/python3)');
  return missing;
}

/** No run lasts this long, so an older temp dir belongs to a run that was killed. */
const STALE_MS = 10 * 60_000;

function removeStaleTempDirs(): void {
  const now = Date.now();
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const p = path.join(os.tmpdir(), name);
    try {
      if (now - fs.statSync(p).mtimeMs > STALE_MS) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // gone meanwhile
    }
  }
}

export class WorldHandle {
  world: World | undefined;
  private topo: Topology | undefined;
  private daemons: Daemon[] = [];
  private dir: string | undefined;
  private tornDown = false;
  private lock: HarnessLock | undefined;

  /**
   * Builds everything; on failure tears down what was built and rethrows. Waits first (up to
   * lockWaitMs) for any other run of the network tests on this machine to finish. `holdMs`: how
   * long the servers wait before answering (default HOLD_MS, a far server's round trip; 0: a near one).
   */
  async start(lockWaitMs = DEFAULT_LOCK_WAIT_MS, opts: { holdMs?: number } = {}): Promise<World> {
    try {
      this.lock = await HarnessLock.acquire(lockWaitMs);
      removeStaleTempDirs();
      const python = findPython()!;
      const user = await ensureTestUser();
      const kit = await prepareClients(python);
      this.dir = kit.dir;
      const topo = await createTopology({ ipv6: true });
      this.topo = topo;
      const dnsmasq = await startDnsmasq(topo, DNS, kit.dir);
      this.daemons.push(dnsmasq);
      const servers = await startServers(topo, python, {
        tcp: [...TCP_SERVERS, ...(topo.ipv6 ? TCP_SERVERS6 : [])], udp: UDP_SERVERS, holdMs: opts.holdMs ?? HOLD_MS, replyBytes: REPLY_BYTES,
      });
      this.daemons.push(servers);
      this.world = { topo, dnsmasq, servers, kit, user, describe: () => dnsmasq.describe() + servers.describe() };
      return this.world;
    } catch (e) {
      const left = await this.teardown();
      if (left.length) (e as Error).message += `; teardown left: ${left.join(', ')}`;
      throw e;
    }
  }

  /** Stops the servers and resolver, removes namespace, routes and temp dir. Returns leftovers. */
  async teardown(): Promise<string[]> {
    if (this.tornDown) return [];
    this.tornDown = true;
    for (const d of this.daemons.reverse()) await d.stop('SIGTERM', 2000);
    const left = this.topo ? await this.topo.teardown() : [];
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    await this.lock?.release();
    return left;
  }
}
