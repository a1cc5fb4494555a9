// Pod networks as a CNI bridge-less plugin (ptp) makes them: per pod a network namespace with
// `eth0`, a veth to the ROOT namespace (pod 10.244.X.2/24, root side 10.244.X.1/24), a default
// route via the root side, and in the root namespace one nft table that masquerades the pod
// subnets on their way out of the uplink toward the test internet. The agent captures on `any`
// in the root namespace and so sees every pod connection twice: on the pod's root-side veth
// (source 10.244.X.2) and on the uplink after SNAT (source = the uplink address).
import { run, runOk } from '../integration/proc.js';
import type { Ledger } from './ledger.js';

export const POD_PREFIX = Object.freeze({ ns: 'ewpod-', hostIf: 'ewp-', nft: 'ewnat-' });

export interface PodNet {
  /** Network namespace of the pod (`ip netns` name). */
  readonly ns: string;
  /** Root-namespace end of the pod's veth. */
  readonly hostIf: string;
  /** The pod's address (10.244.X.2): source of its connections before NAT. */
  readonly podAddr: string;
  /** Root-side address (10.244.X.1): the pod's default gateway. */
  readonly gateway: string;
  readonly subnet: string;
}

export interface PodNetwork {
  readonly pods: readonly PodNet[];
  /** nft table (family ip) holding the masquerade rule. */
  readonly nftTable: string;
}

/**
 * Creates `count` pods and the NAT toward `uplinkIf`. Every object is recorded in the ledger
 * before it is made, so a failure half-way leaves nothing the ledger cannot undo.
 */
export async function createPodNetwork(ledger: Ledger, sfx: string, count: number, uplinkIf: string): Promise<PodNetwork> {
  const third = await freeThirdOctets(count);
  const pods: PodNet[] = [];
  for (let i = 0; i < count; i++) {
    const x = third[i]!;
    const pod: PodNet = {
      ns: `${POD_PREFIX.ns}${sfx}${i}`, hostIf: `${POD_PREFIX.hostIf}${sfx}${i}`,
      podAddr: `10.244.${x}.2`, gateway: `10.244.${x}.1`, subnet: `10.244.${x}.0/24`,
    };
    await createPod(ledger, pod);
    pods.push(pod);
  }
  const nftTable = `${POD_PREFIX.nft}${sfx}`;
  ledger.add('nftTables', nftTable);
  // priority 100 = srcnat; the numeric form is accepted by every nft version.
  const script = [
    `table ip ${nftTable} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority 100; policy accept;',
    `    ip saddr { ${pods.map((p) => p.subnet).join(', ')} } oifname "${uplinkIf}" masquerade`,
    '  }',
    '}',
  ].join('\n');
  await runOk('nft', ['-f', '-'], { input: script + '\n', timeoutMs: 5000 });
  ledger.setIpForward('1');
  return { pods, nftTable };
}

async function createPod(ledger: Ledger, p: PodNet): Promise<void> {
  const ip = (...a: string[]) => runOk('ip', a, { timeoutMs: 5000 });
  ledger.add('netns', p.ns);
  await ip('netns', 'add', p.ns);
  ledger.add('links', p.hostIf);
  await ip('link', 'add', p.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns);
  await ip('addr', 'add', `${p.gateway}/24`, 'dev', p.hostIf);
  await ip('link', 'set', p.hostIf, 'up');
  await ip('-n', p.ns, 'addr', 'add', `${p.podAddr}/24`, 'dev', 'eth0');
  await ip('-n', p.ns, 'link', 'set', 'lo', 'up');
  await ip('-n', p.ns, 'link', 'set', 'eth0', 'up');
  await ip('-n', p.ns, 'route', 'add', 'default', 'via', p.gateway);
}

/**
 * Third octets X (from 200 up) whose 10.244.X.0/24 has neither a route nor an address on this
 * host, so a real pod network on the machine is never shadowed.
 */
async function freeThirdOctets(count: number): Promise<number[]> {
  const out: number[] = [];
  for (let x = 200; x < 255 && out.length < count; x++) {
    const net = `10.244.${x}.0/24`;
    const routes = await run('ip', ['-4', 'route', 'show', 'root', net], { timeoutMs: 5000 });
    const addrs = await run('ip', ['-4', '-o', 'addr', 'show', 'to', net], { timeoutMs: 5000 });
    if (routes.stdout.trim() === '' && addrs.stdout.trim() === '') out.push(x);
  }
  if (out.length < count) throw new Error(`no ${count} free /24s in 10.244.200-254.0/24 for test pods`);
  return out;
}
