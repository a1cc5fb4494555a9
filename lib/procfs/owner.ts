// What the socket resolver hands out, and the counters its parts share (one object, so the
// agent's /metrics reads one flat record).

export interface FlowEnds {
  transport: 'tcp' | 'udp';
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** Wall-clock ms of the flow's first packet, when known: a connect tracer record far from it is another connection's. */
  startTime?: number;
}

export interface SocketOwner {
  inode: number;
  uid: number;
  pid?: number;
  state: number;
  /** Inode of the network namespace whose table listed the socket; absent when its link was unreadable. */
  netns?: number;
  /** The socket is in the agent's own (host) namespace. */
  hostNetns: boolean;
  /**
   * 'procfs-socket': the holder's fd was seen now; 'cached-socket': the holder exited since it was
   * indexed; 'ebpf-connect': the socket was gone, the connect tracer (tracer.ts) named its maker.
   * Absent without pid.
   */
  method?: 'procfs-socket' | 'cached-socket' | 'ebpf-connect';
  /**
   * The process found holding the socket (and how) when the connect tracer named another as its
   * maker (pid): the fallback when the maker cannot be described.
   */
  holder?: { pid: number; method: 'procfs-socket' | 'cached-socket' };
  /** The maker's name (comm) as the connect tracer recorded it: all that is left once it is gone with no copy. */
  comm?: string;
}

export function newCounters() {
  return {
    lookups: 0, socketMisses: 0, pidMisses: 0, fullScans: 0, partialScans: 0, badFlows: 0, netnsSkipped: 0, otherNetnsHits: 0,
    cachedSocketHits: 0, youngRescans: 0, hookErrors: 0, broadSweeps: 0, diagHits: 0, diagMisses: 0, diagListeners: 0,
    probes: 0, probesOverBudget: 0, probeHolders: 0, probeHotRescans: 0, closedBeforeScan: 0, probeNoSocket: 0, probePeerHits: 0,
    /** A holder search stopped because netlink said the socket had closed since it was found. */
    closedBeforeSweep: 0,
    /** Processes born since the last pid listing (ns_last_pid) searched for a socket, and those found holding it. */
    unseenSearched: 0, unseenHolders: 0,
    /**
     * Owners the connect tracer named where /proc could not; its records refused as another
     * connection's (time), or as a process of another network namespace than the flow's.
     */
    tracedOwners: 0, tracedStale: 0, tracedOtherNetns: 0,
    /** Sockets held by another process than the one the connect tracer saw make them (inherited): named after the maker. */
    tracedMakers: 0,
    /** Processes the connect tracer named at SYN time whose /proc files were copied then (they may exit before the batch); copies the budget refused. */
    tracedEarly: 0, tracedEarlyOverBudget: 0,
    /** Young/hot sweeps the probe's pid budget refused (the batch sweeps instead). */
    probeSweepsOverBudget: 0,
    /** No pid known (or indexed) for the flow's peer; the peer's pid searched without finding the socket. */
    peerUnknown: 0, peerMisses: 0,
    /** Batches that needed no pid listing: every socket was already attributed, closed or held by nobody. */
    prescansSkipped: 0,
    /** Full fd scans put off because the last one's cost sets a longer interval (see MissScanner). */
    fullScansDeferred: 0,
    /** Sockets found in a process whose parent held them too (inherited across fork): attributed to the parent that made them. */
    inheritedLifted: 0,
  };
}

export type ResolverCounters = ReturnType<typeof newCounters>;
