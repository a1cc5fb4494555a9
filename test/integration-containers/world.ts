// The container test's world in one call: test/integration's internet (namespace, dnsmasq with
// our extra names, the held servers) plus the quick server, three pods behind NAT, their
// containers' cgroups and files, and a host root for --host-root. Holds test/integration's
// machine-wide lock for its whole life. teardown() is idempotent and safe on a half-built world.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { haveCommand, isRoot } from '../helpers/env.js';
import { HarnessLock } from '../integration/lock.js';
import { createTopology, NET, type Topology } from '../integration/netns.js';
import { DNSMASQ_BIN, startDnsmasq } from '../integration/dnsmasq.js';
import { startServers } from '../integration/servers.js';
import { TEMP_PREFIX, ensureTestUser, findPython, type TestUser } from '../integration/clients.js';
import { HOLD_MS, REPLY_BYTES, TCP_SERVERS } from '../integration/scenario.js';
import { run, runOk, startReady, type Daemon } from '../integration/proc.js';
import { Ledger } from './ledger.js';
import { createPodNetwork, type PodNetwork } from './pods.js';
import { containerCgroupPath, createCgroups, hierarchies } from './cgroups.js';
import { writeContainerRoot, writeHostRoot } from './hostroot.js';
import { CLIENT_SCRIPT, QUICK_SERVER_SCRIPT, SLOW_DNS_SCRIPT, type Container } from './containers.js';
import { DNS_CONTAINERS, HELD_QUICK_MS, HELD_QUICK_SERVER, POD_COUNT, QUICK_SERVER, SLOW_DNS, containerDefs } from './scenario.js';

/** test/integration's end-to-end suite holds the lock ~50 s; ours about as long. */
export const LOCK_WAIT_MS = 150_000;

export interface ContainerWorld {
  topo: Topology;
  python: string;
  user: TestUser;
  /** World-readable temp dir: resolv.conf, container roots, short-lived client copies. */
  dir: string;
  resolvConf: string;
  /** resolv.conf naming the slow resolver (SLOW_DNS). */
  slowResolvConf: string;
  hostRoot: string;
  net: PodNetwork;
  containers: Container[];
  ledger: Ledger;
  describe(): string;
}

/** Missing prerequisites by name; empty when the test can run here. */
export function missingPrereqs(): string[] {
  const missing: string[] = [];
  if (!isRoot()) missing.push('root');
  for (const c of ['ip', 'nft', 'unshare', 'setpriv', 'flock', 'getent', 'useradd', 'mount']) if (!haveCommand(c)) missing.push(c);
  if (!fs.existsSync(DNSMASQ_BIN)) missing.push(DNSMASQ_BIN);
  if (!findPython()) missing.push('python3 runnable by other users (/usr/bin/python3)');
  if (isRoot() && fs.existsSync('/proc/self/cgroup') && hierarchies().length === 0) missing.push('a cgroup hierarchy this process sits at the root of');
  if (!fs.existsSync('/opt')) missing.push('/opt (containers get their own /opt/app)');
  return missing;
}

/** Two uids without a name on this host, for the container users. */
async function freeUids(): Promise<[number, number]> {
  const out: number[] = [];
  for (let uid = 10_001; uid < 10_100 && out.length < 2; uid++) {
    if ((await run('getent', ['passwd', String(uid)])).code !== 0) out.push(uid);
  }
  if (out.length < 2) throw new Error('no two free uids in 10001-10099 for the container users');
  return [out[0]!, out[1]!];
}

export class ContainerWorldHandle {
  world: ContainerWorld | undefined;
  private lock: HarnessLock | undefined;
  private topo: Topology | undefined;
  private ledger: Ledger | undefined;
  private daemons: Daemon[] = [];
  private dir: string | undefined;
  private tornDown = false;

  async start(lockWaitMs = LOCK_WAIT_MS): Promise<ContainerWorld> {
    try {
      this.lock = await HarnessLock.acquire(lockWaitMs);
      const stale = await Ledger.undoLeftovers();
      if (stale.length) throw new Error(`leftovers of an earlier run could not be removed: ${stale.join(', ')}`);
      const python = findPython()!;
      const user = await ensureTestUser();
      const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `${TEMP_PREFIX}ctr-`)));
      this.dir = dir;
      fs.chmodSync(dir, 0o755);
      const resolvConf = path.join(dir, 'resolv.conf');
      fs.writeFileSync(resolvConf, `nameserver ${NET.nsAddr}\noptions timeout:2 attempts:2\n`, { mode: 0o644 });
      const topo = await createTopology({ ipv6: false });
      this.topo = topo;
      this.daemons.push(await startDnsmasq(topo, DNS_CONTAINERS, dir));
      this.daemons.push(await startServers(topo, python, { tcp: TCP_SERVERS, udp: [], holdMs: HOLD_MS, replyBytes: REPLY_BYTES }));
      this.daemons.push(await startQuickServer(topo, python));
      const slowResolvConf = path.join(dir, 'resolv-slow.conf');
      fs.writeFileSync(slowResolvConf, `nameserver ${SLOW_DNS.addr}\noptions timeout:2 attempts:2\n`, { mode: 0o644 });
      this.daemons.push(await startSlowDns(topo, python));
      const ledger = Ledger.create();
      this.ledger = ledger;
      const net = await createPodNetwork(ledger, randomBytes(2).toString('hex'), POD_COUNT, topo.hostIf);
      const defs = containerDefs(await freeUids());
      const hostRoot = path.join(dir, 'hostroot');
      const hostPasswd = fs.readFileSync('/etc/passwd', 'utf8').split('\n').filter((l) => l.trim() !== '');
      writeHostRoot(hostRoot, hostPasswd, defs);
      const hs = hierarchies();
      const containers = defs.map((def, i): Container => {
        const rootDir = path.join(dir, `ctr${i}-${def.name}`);
        writeContainerRoot(rootDir, def, CLIENT_SCRIPT);
        const cgroups = createCgroups(ledger, hs, containerCgroupPath(def.driver, def.podUid, def.id));
        return { def, pod: net.pods[def.pod]!, rootDir, cgroups };
      });
      const daemons = this.daemons;
      this.world = {
        topo, python, user, dir, resolvConf, slowResolvConf, hostRoot, net, containers, ledger,
        describe: () => daemons.map((d) => d.describe()).join(''),
      };
      return this.world;
    } catch (e) {
      const left = await this.teardown();
      if (left.length) (e as Error).message += `; teardown left: ${left.join(', ')}`;
      throw e;
    }
  }

  /** Stops the servers, undoes the ledger, removes the test internet and temp dir. Returns leftovers. */
  async teardown(): Promise<string[]> {
    if (this.tornDown) return [];
    this.tornDown = true;
    for (const d of this.daemons.reverse()) await d.stop('SIGTERM', 2000);
    const left = this.ledger ? await this.ledger.undo() : [];
    if (this.topo) left.push(...(await this.topo.teardown()));
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    await this.lock?.release();
    return left;
  }
}

function startQuickServer(topo: Topology, python: string): Promise<Daemon> {
  return startReady('quick server', topo.nsExec(python, QUICK_SERVER_SCRIPT, '--tcp', `${QUICK_SERVER.addr}:${QUICK_SERVER.port}`,
    '--tcp', `${HELD_QUICK_SERVER.addr}:${HELD_QUICK_SERVER.port}@${HELD_QUICK_MS}`, '--tcp', `0.0.0.0:${SLOW_DNS.port}`));
}

/** The slow resolver, and the local route in the namespace that makes every address of SLOW_DNS.prefix the quick server's. */
async function startSlowDns(topo: Topology, python: string): Promise<Daemon> {
  await runOk('ip', ['-n', topo.ns, 'route', 'add', 'local', SLOW_DNS.prefix, 'dev', 'lo'], { timeoutMs: 5000 });
  return startReady('slow resolver', topo.nsExec(python, SLOW_DNS_SCRIPT, '--listen', SLOW_DNS.addr, '--delay-ms', String(SLOW_DNS.delayMs),
    '--name-prefix', 'svc.slow', '--suffix', '.test', '--base', SLOW_DNS.base));
}
