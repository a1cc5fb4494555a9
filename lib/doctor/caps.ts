// Effective capabilities of this process, from the CapEff line of /proc/self/status (a hex
// mask, bit n = capability n as numbered in linux/capability.h).

export interface CapabilityNeed {
  name: string;
  bit: number;
  /** What the agent loses without it. */
  why: string;
  /** Without it the agent cannot run at all. */
  required: boolean;
}

export const AGENT_CAPABILITIES: readonly CapabilityNeed[] = [
  { name: 'CAP_NET_RAW', bit: 13, required: true, why: 'open raw capture sockets (libpcap)' },
  { name: 'CAP_NET_ADMIN', bit: 12, required: false, why: 'let libpcap configure capture devices and buffers' },
  { name: 'CAP_SYS_PTRACE', bit: 19, required: false, why: "read other users' /proc/PID/fd and /proc/PID/exe (process attribution)" },
  { name: 'CAP_DAC_READ_SEARCH', bit: 2, required: false, why: "read other users' /proc files and container roots" },
];

/** The CapEff mask from /proc/PID/status text; undefined when absent or malformed. */
export function parseCapEff(statusText: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]{1,16})\s*$/m.exec(statusText);
  return m ? BigInt('0x' + m[1]) : undefined;
}

export function hasCapability(mask: bigint, bit: number): boolean {
  return ((mask >> BigInt(bit)) & 1n) === 1n;
}

/** The agent's capabilities split into held and missing. */
export function agentCapabilities(mask: bigint): { held: CapabilityNeed[]; missing: CapabilityNeed[] } {
  const held = AGENT_CAPABILITIES.filter((c) => hasCapability(mask, c.bit));
  return { held, missing: AGENT_CAPABILITIES.filter((c) => !held.includes(c)) };
}
