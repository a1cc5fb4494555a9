// The whole test internet in one call: namespace, resolver, servers, clients. teardown() is
// idempotent and safe on a half-built world, so before() can call it when setup fails and
// after() always calls it. liveSuite() is the before/after a live end-to-end suite shares.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRoot, haveCommand, requirePrereq } from '../helpers/env.js';
import { AGENT_CLI } from './agent.js';
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

/** The test internet of a live suite (once its before() has built it), and the suite's own bits. */
export interface LiveSuite extends World {
  /** The suite's own temporary directory, readable by the test user (0755 unless told otherwise). */
  readonly tmp: string;
  /** `fn` runs at the end (stopping the suite's agent, its servers), before the world is torn down; the last added first. */
  cleanup(fn: () => unknown): void;
}

export interface LiveSuiteOptions {
  /** Prerequisites of the suite's own beyond the harness's (missingPrereqs) and the built agent, by name. */
  needs?: () => string[];
  /** How long the servers wait before answering (WorldHandle.start). */
  holdMs?: number;
  /** Mode of the temporary directory; default 0o755. */
  tmpMode?: number;
}

/**
 * Registers, in the calling describe(), the set-up every live end-to-end suite shares. Before:
 * the prerequisites (a failure under CI=true, else the suite is skipped, naming them), the world
 * (after waiting for any other run's), a temporary directory named after `name`. After, even when
 * a test or the set-up failed: the suite's cleanups, the directory removed, the world torn down
 * and asserted to have left no namespace, link or route behind. The suite's own before() hooks,
 * registered after this call, run after this one's.
 */
export function liveSuite(name: string, opts: LiveSuiteOptions = {}): LiveSuite {
  const handle = new WorldHandle();
  const cleanups: (() => unknown)[] = [];
  let world: World | undefined;
  let tmp = '';
  before(async function () {
    this.timeout(DEFAULT_LOCK_WAIT_MS + 60_000);
    const missing = missingPrereqs();
    if (!fs.existsSync(AGENT_CLI)) missing.push(`${AGENT_CLI} (build first)`);
    missing.push(...(opts.needs?.() ?? []));
    requirePrereq(this, missing.length === 0, `the ${name} test needs: ${missing.join(', ')}`);
    world = await handle.start(DEFAULT_LOCK_WAIT_MS, { holdMs: opts.holdMs });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${TEMP_PREFIX}${name.replace(/[^a-z0-9]+/gi, '-')}-`));
    fs.chmodSync(tmp, opts.tmpMode ?? 0o755);
  });
  after(async function () {
    this.timeout(30_000);
    let failure: unknown;
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        failure ??= err;
      }
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    const left = await handle.teardown();
    assert.deepEqual(left, [], `teardown left: ${left.join(', ')}`);
    if (failure !== undefined) throw failure;
  });
  const built = (): World => {
    assert.ok(world, 'the test internet is built in before()');
    return world;
  };
  return {
    get topo() {
      return built().topo;
    },
    get dnsmasq() {
      return built().dnsmasq;
    },
    get servers() {
      return built().servers;
    },
    get kit() {
      return built().kit;
    },
    get user() {
      return built().user;
    },
    describe: () => built().describe(),
    get tmp() {
      return tmp;
    },
    cleanup: (fn) => void cleanups.push(fn),
  };
}
