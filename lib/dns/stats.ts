// Counters of the dns stage. One instance per pipeline (no module-level state); the
// parser and the TCP reassembler write into it, metrics read it.

export class DnsStats {
  /** DNS responses (QR=1) whose header, question and answer sections decoded. */
  responses = 0;
  /** A/AAAA addresses returned (reachable from the query name through CNAMEs). */
  answers = 0;
  /** Messages with QR=0 handed to the parser (normally none: only port-53 sources are). */
  queries = 0;
  /**
   * Drops and oddities by kind. Message dropped (header / question): `short-header`,
   * `truncated`, `name-bad-pointer`, `name-bad-label`, `name-too-long`. Response kept:
   * `answers-<kind>` (answer section cut at a bad record; the records before it are used),
   * `trailing-<kind>` (authority / additional sections corrupt), `bad-rdlength` (one A/AAAA/
   * CNAME record skipped).
   */
  malformed: Record<string, number> = {};
  /** Messages returned as null because they are not a standard-query response: the
   * queries above plus QR=1 messages with another opcode (NOTIFY, UPDATE, ...). */
  notResponse = 0;
  /** A/AAAA records ignored because their owner is not on the query's CNAME chain. */
  offChainAddresses = 0;
  /** CNAME chains cut because they loop or exceed the depth bound. */
  cnameLoops = 0;
  cnameTooLong = 0;
  /** Responses without a question (chain starts at the first answer's owner). */
  noQuestion = 0;
  /** DNS-over-TCP messages delivered, stream resets, streams evicted by the LRU bound. */
  tcpMessages = 0;
  tcpResyncs = 0;
  tcpEvictions = 0;

  countMalformed(kind: string): void {
    this.malformed[kind] = (this.malformed[kind] ?? 0) + 1;
  }

  /** Sum of all malformed kinds (for metrics and tests). */
  malformedTotal(): number {
    let n = 0;
    for (const k in this.malformed) n += this.malformed[k];
    return n;
  }
}
