// The test internet's TCP and UDP servers (test/fixtures/integration/servers.py), run as one
// process inside the namespace.
import path from 'node:path';
import { FIXTURES_DIR } from '../helpers/env.js';
import { startReady, type Daemon } from './proc.js';
import type { Topology } from './netns.js';
import type { Endpoint } from './scenario.js';

export const SERVERS_SCRIPT = path.join(FIXTURES_DIR, 'integration', 'servers.py');

export interface ServerSpec {
  tcp: readonly Endpoint[];
  udp: readonly Endpoint[];
  holdMs: number;
  replyBytes: number;
}

function ep(e: Endpoint): string {
  return e.addr.includes(':') ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`;
}

/** Starts the servers in the namespace; resolves once every socket is bound (bounded 5 s). */
export async function startServers(topo: Topology, python: string, spec: ServerSpec): Promise<Daemon> {
  return startReady('servers', topo.nsExec(python, SERVERS_SCRIPT,
    '--hold-ms', String(spec.holdMs), '--bytes', String(spec.replyBytes),
    ...spec.tcp.flatMap((e) => ['--tcp', ep(e)]),
    ...spec.udp.flatMap((e) => ['--udp', ep(e)])));
}
