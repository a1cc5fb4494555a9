// Running the test client "in a container": in the container's cgroups, the pod's network
// namespace, its own mount namespace (its passwd, its /opt/app) and its own pid namespace, as the
// container user (test/fixtures/integration-containers/enter_container.sh does the entering).
import path from 'node:path';
import { FIXTURES_DIR } from '../helpers/env.js';
import { Daemon, run, type RunResult } from '../integration/proc.js';
import { APP_SCRIPT, type ContainerDef } from './hostroot.js';
import type { PodNet } from './pods.js';

export const FIX = path.join(FIXTURES_DIR, 'integration-containers');
export const ENTER_SCRIPT = path.join(FIX, 'enter_container.sh');
export const CLIENT_SCRIPT = path.join(FIX, 'ew_client.py');
export const QUICK_SERVER_SCRIPT = path.join(FIX, 'quick_server.py');
export const SLOW_DNS_SCRIPT = path.join(FIX, 'slow_dns.py');
const CLIENT_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: '/', LANG: 'C.UTF-8' };

/** A container of the test, ready to run: its definition plus where it lives on this host. */
export interface Container {
  def: ContainerDef;
  pod: PodNet;
  /** Holds etc/passwd and opt/app/worker.py of the container. */
  rootDir: string;
  /** Its cgroup directories, one per hierarchy. */
  cgroups: string[];
}

/** argv (and the spawned process is enter_container.sh → unshare, the client's parent). */
export function containerArgv(c: Container, python: string, resolvConf: string, clientArgs: readonly string[]): [string, string[]] {
  return ['sh', [ENTER_SCRIPT, c.pod.ns, String(c.def.user.uid), c.rootDir, resolvConf, c.cgroups.join(':'), '--',
    python, APP_SCRIPT, ...clientArgs]];
}

export interface ClientOutput {
  /** The client's pid in the root pid namespace (first NSpid field). */
  pid: number;
  /** All NSpid fields, outermost first. */
  nspid: number[];
  user: string;
  reply: string;
  elapsedMs: number;
}

/** Parses ew_client.py's report; undefined when a line is missing. */
export function parseClientOutput(stdout: string): ClientOutput | undefined {
  const line = (k: string) => new RegExp(`^${k} (.*)$`, 'm').exec(stdout)?.[1];
  const ns = line('nspid');
  const user = line('user');
  const reply = line('reply');
  const el = line('elapsed_ms');
  if (ns === undefined || user === undefined || reply === undefined || el === undefined) return undefined;
  const nspid = ns.split(/\s+/).map(Number);
  return { pid: nspid[0]!, nspid, user, reply, elapsedMs: Number(el) };
}

/** Runs the client in the container to completion (bounded 15 s); throws on a harness failure. */
export async function runInContainer(c: Container, python: string, resolvConf: string, clientArgs: readonly string[]): Promise<ClientOutput & { run: RunResult }> {
  const [cmd, args] = containerArgv(c, python, resolvConf, clientArgs);
  const r = await run(cmd, args, { timeoutMs: 15_000, env: CLIENT_ENV, cwd: '/' });
  const out = parseClientOutput(r.stdout);
  if (r.code !== 0 || !out) {
    throw new Error(`container client ${c.def.name} failed (harness, not agent): code ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`);
  }
  return { ...out, run: r };
}

/** Starts the client with --linger-ms and returns once it has connected and reported. */
export async function startLingering(c: Container, python: string, resolvConf: string, clientArgs: readonly string[], lingerMs: number): Promise<{ daemon: Daemon; out: ClientOutput }> {
  const [cmd, args] = containerArgv(c, python, resolvConf, [...clientArgs, '--linger-ms', String(lingerMs)]);
  const d = new Daemon(`container ${c.def.name}`, cmd, args, { env: CLIENT_ENV, cwd: '/' });
  try {
    await d.waitForOutput(/^lingering$/m, 10_000);
  } catch (e) {
    await d.stop('SIGKILL');
    throw e;
  }
  const out = parseClientOutput(d.out.text());
  if (!out) {
    await d.stop('SIGKILL');
    throw new Error(`container client ${c.def.name}: unparsable report${d.describe()}`);
  }
  return { daemon: d, out };
}
