// One tracked connection: who started it, to whom, when, and how much went each way.
// "client" is the initiator (TCP: the SYN sender; UDP: the sender of the first packet seen),
// reported as ECS `source.*`; "server" is the responder, ECS `destination.*`.

import { Keyed } from './index-table.js';

export type Transport = 'tcp' | 'udp';

export const NOT_ANSWERED = 0;
export const ANSWERED = 1;
export const REFUSED = 2;
export type Answer = typeof NOT_ANSWERED | typeof ANSWERED | typeof REFUSED;

export class Flow extends Keyed {
  /** Pipeline-owned per-flow state (pending alert, attribution); the flow table never reads it. */
  data: unknown = undefined;
  lastTime: number;
  clientBytes = 0;
  serverBytes = 0;
  clientPackets = 0;
  serverPackets = 0;
  /** TCP: FIN seen from the client / server; a flow ends on RST or when both have sent FIN. */
  clientFin = false;
  serverFin = false;
  ended = false;
  /**
   * What the server sent first: NOT_ANSWERED yet; ANSWERED (a SYN-ACK, or any packet but a
   * bare RST); REFUSED (TCP: a RST before anything else, a closed port or a firewall's reject).
   */
  answer: Answer = NOT_ANSWERED;
  /** TCP: the client's initial sequence number (NAT keeps it: see FlowTable's NAT match). */
  isn = 0;
  /** The owner wants the client's payload packets (first-payload sniffing); cleared when done. */
  wantPayload = false;
  /** The owner wants the server's payload packets (a proxy's answer to the request); cleared when done. */
  wantServerPayload = false;
  /** The HTTP status a proxy answered the connection's request with (CONNECT: 200 = tunnel up); 0 = none seen. */
  proxyStatus = 0;
  /** A SOCKS proxy's reply to the request (SOCKS5 REP, SOCKS4 CD; 0xff no method, 0x1nn authentication failed); -1 = none seen. */
  socksReply = -1;
  /** That reply granted the request. */
  socksOk = false;
  /** The proxy's first bytes while its answer is incomplete (a SOCKS5 method selection and reply come apart). */
  serverHead: Buffer | undefined = undefined;
  /**
   * Its first packet was captured arriving on an interface, not leaving one: it came from another
   * machine, a VM or a container's network namespace, and this host forwarded it. Told by a Linux
   * cooked capture's packet type, or on a live capture of named interfaces by the frame's source
   * hardware address (not one of this host's; FlowHooks.sentByAnother). False when the capture
   * does not say (a replay of an Ethernet capture, raw IP).
   */
  forwarded = false;
  /** Taken up mid-stream: its start (SYN) was not seen; startTime is its first packet seen. */
  midstream = false;
  /** Names the flow among the packets counted lately (FlowTable's CountedPackets), whose copies are not counted. */
  copyId = 0;

  constructor(
    readonly transport: Transport,
    readonly family: 4 | 6,
    /** The client's address and port: after NAT, the ones before it, once seen (FlowTable.start). */
    public clientIp: string,
    public clientPort: number,
    readonly serverIp: string,
    readonly serverPort: number,
    readonly startTime: number,
    /** True when the client's endpoint is the "low" side of the canonical key. */
    readonly clientIsLow: boolean,
  ) {
    super();
    this.lastTime = startTime;
  }

  /** "tcp 10.0.0.5:40000 > 203.0.113.10:443", for logs (made on demand: most flows never need it). */
  get key(): string {
    return `${this.transport} ${this.clientIp}:${this.clientPort} > ${this.serverIp}:${this.serverPort}`;
  }
}
