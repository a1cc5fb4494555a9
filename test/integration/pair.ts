// Two network namespaces of a test's own, joined by a veth pair ("ewv" in the first, "ewvp" in
// the second), for end-to-end tests that capture real traffic on `any` in one of them and replay
// the capture through the agent's CLI. Made in before(), removed in after() even when the test
// failed (ip netns del takes the veth with it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_CLI } from './agent.js';
import { inNs, ip } from './netns.js';
import { Daemon, sleep } from './proc.js';

export class NsPair {
  readonly sfx = randomBytes(2).toString('hex');
  /** The namespaces' names: `${prefix}a-<sfx>` holds ewv, `${prefix}b-<sfx>` holds ewvp. */
  readonly a: string;
  readonly b: string;
  /** Daemons to stop at teardown (servers, captures). */
  readonly daemons: Daemon[] = [];

  constructor(prefix: string) {
    this.a = `${prefix}a-${this.sfx}`;
    this.b = `${prefix}b-${this.sfx}`;
  }

  /** Makes both namespaces with lo up and the veth between them, `addrA` on ewv and each of `addrsB` on ewvp (CIDR notation). */
  create(addrA: string, addrsB: readonly string[]): void {
    for (const n of [this.a, this.b]) ip('netns', 'add', n);
    this.ipIn(this.a, 'link', 'set', 'lo', 'up');
    this.ipIn(this.a, 'link', 'add', 'ewv', 'type', 'veth', 'peer', 'name', 'ewvp');
    this.ipIn(this.a, 'link', 'set', 'ewvp', 'netns', this.b);
    this.ipIn(this.a, 'addr', 'add', addrA, 'dev', 'ewv');
    this.ipIn(this.a, 'link', 'set', 'ewv', 'up');
    this.ipIn(this.b, 'link', 'set', 'lo', 'up');
    for (const addr of addrsB) this.ipIn(this.b, 'addr', 'add', addr, 'dev', 'ewvp');
    this.ipIn(this.b, 'link', 'set', 'ewvp', 'up');
  }

  /** `ip ARGS` inside namespace `ns`; a failure fails the test. */
  ipIn(ns: string, ...args: string[]): void {
    ip(...inNs(ns, 'ip', ...args));
  }

  /** Starts `argv` in `ns` and waits for `ready` in its output. */
  async start(label: string, ns: string, argv: string[], ready: RegExp): Promise<Daemon> {
    const d = new Daemon(label, 'ip', inNs(ns, ...argv));
    this.daemons.push(d);
    await d.waitForOutput(ready, 10_000);
    return d;
  }

  /** dumpcap on `any` in `ns` into `file`; stop it with capture.stop('SIGINT', 5000). */
  async capture(ns: string, file: string): Promise<Daemon> {
    const d = await this.start('dumpcap', ns, ['dumpcap', '-P', '-i', 'any', '-w', file], /Capturing on/);
    await sleep(300);
    return d;
  }

  /** Stops the daemons and removes both namespaces; fails when one is left. */
  async remove(): Promise<void> {
    for (const d of this.daemons) await d.stop('SIGTERM', 2000);
    for (const n of [this.a, this.b]) spawnSync('ip', ['netns', 'del', n], { timeout: 10_000 });
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.ok(!left.includes(this.sfx), `namespaces left: ${left}`);
  }
}

/** `egresswatch replay FILE` into `stateDir` with `flags` (learning off); asserts exit 0, returns the stats and the alerts. */
export function replayCapture<A>(file: string, stateDir: string, flags: string[]): { stats: { connections: { tcp: number; udp: number } }; alerts: A[] } {
  const alertsFile = path.join(stateDir, 'alerts.json');
  const r = spawnSync(process.execPath, [AGENT_CLI, 'replay', file, '--state-dir', stateDir, '--alerts-file', alertsFile, '--stats-json',
    '--learning-period', '0', ...flags], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const text = fs.existsSync(alertsFile) ? fs.readFileSync(alertsFile, 'utf8') : '';
  return { stats: JSON.parse(r.stdout) as { connections: { tcp: number; udp: number } }, alerts: text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as A) };
}
