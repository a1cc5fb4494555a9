import { FIRST_SKIP, STATUS_NAMES } from './status.js';

/**
 * Filled by decodePacket; one instance is reused for every packet (no allocation per
 * packet). Offsets point into `buf`, which libpcap reuses: it is only valid during the
 * packet callback, so copy what you keep at the point you keep it.
 */
export class PacketInfo {
  buf: Buffer = Buffer.alloc(0);
  /** Where the frame (its link-layer header) starts in buf. */
  frameOffset = 0;
  ipVersion: 0 | 4 | 6 = 0;
  ipOffset = 0;
  /** Address bytes (4 or 16) in buf. */
  srcOffset = 0;
  dstOffset = 0;
  /** IP protocol / last IPv6 next header: 6 TCP, 17 UDP. */
  protocol = 0;
  srcPort = 0;
  dstPort = 0;
  /** Low 8 bits of the TCP flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16). */
  tcpFlags = 0;
  /** Unsigned 32-bit. */
  tcpSeq = 0;
  /** Acknowledgment number, unsigned 32-bit (meaningful with ACK set). */
  tcpAck = 0;
  /** L4 payload, clamped to the captured bytes. */
  payloadOffset = 0;
  payloadLength = 0;
  /**
   * IP total length from the header (IPv6: 40 + payload length): wire bytes at the IP layer,
   * for byte counts even when snaplen truncated the capture. When the header says 0 (Linux
   * BIG TCP / TSO captures, where the real length exceeds 16 bits) it is the captured length.
   */
  ipLength = 0;
  /** Innermost VLAN id, -1 when untagged. */
  vlanId = -1;
  /** Linux cooked capture packet type (0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing), -1 for other link types. */
  sllPacketType = -1;
  /**
   * Interface index of a Linux cooked capture v2 frame; for a live capture on several interfaces,
   * set after decoding to the interface's place in the list (Pipeline.onPacket); else -1.
   */
  ifIndex = -1;
  /**
   * Captured on a loopback device (Linux cooked capture, ARPHRD_LOOPBACK): the host talking to
   * itself, whatever the addresses (a connection to one of its own public addresses goes over
   * lo too). False for other link types, where the device is not said.
   */
  loopback = false;
  /** EtherType of the network layer after link headers and VLAN tags (0x0800, 0x86dd); 0 before the link layer is read. */
  etherType = 0;
  /**
   * First fragment of a fragmented datagram (IPv4 MF set, or IPv6 fragment header with offset 0
   * and M set): the L4 header is here but the payload is incomplete, and the UDP length field
   * covers the whole datagram.
   */
  fragmented = false;
  /**
   * The capture holds the whole frame (caplen >= wire length, as passed to decodePacket). Only
   * then is an IP length beyond the captured bytes a malformed packet rather than the snaplen.
   */
  captureComplete = false;

  /** Clear the per-packet fields; called by decodePacket before each packet. */
  reset(buf: Buffer, frameOffset = 0): void {
    this.buf = buf;
    this.frameOffset = frameOffset;
    this.ipVersion = 0;
    this.ipOffset = 0;
    this.srcOffset = 0;
    this.dstOffset = 0;
    this.protocol = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.ipLength = 0;
    this.vlanId = -1;
    this.sllPacketType = -1;
    this.ifIndex = -1;
    this.loopback = false;
    this.etherType = 0;
    this.fragmented = false;
    this.captureComplete = false;
  }
}

/** Decoder counters. `skipped` and `errors` are keyed by kind, e.g. errors['truncated-ipv4']. */
export class DecodeStats {
  packets = 0;
  decoded = 0;
  skipped: Record<string, number> = {};
  errors: Record<string, number> = {};

  /** Count one negative decoder status under its name. */
  count(status: number): void {
    const name = STATUS_NAMES[-status] ?? 'internal';
    const into = status <= FIRST_SKIP ? this.skipped : this.errors;
    into[name] = (into[name] ?? 0) + 1;
  }

  /** Sum of all error counters. */
  totalErrors(): number {
    let n = 0;
    for (const k of Object.keys(this.errors)) n += this.errors[k];
    return n;
  }
}
