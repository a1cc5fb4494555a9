// sniff: name the server a connection goes to from the traffic itself: TLS ClientHello SNI and
// HTTP/1.x Host from the client's first bytes of a TCP stream, and the SNI of a QUIC client
// Initial datagram. Pure, synchronous, bounds-checked; never throws on wire input.
import { looksLikeHttp, sniffHttp } from './http.js';
export { headerEnd, looksLikeHttp, proxyRequest, requestHead, requestTarget, responseStatus } from './http.js';
export { ja3, type Ja3 } from './ja3.js';
import { MORE, NONE, type SniffResult } from './result.js';
import { looksLikeTls, sniffTls } from './tls.js';
export { clientHelloComplete, clientHelloFromRecords, helloOffersEch, looksLikeTls, recordsOfferEch } from './tls.js';

export type { SniffResult } from './result.js';
export { MORE } from './result.js';
export { quicHelloSni, quicInitialCrypto, quicInitialSni } from './quic.js';
export { looksLikeSocksHello, socksReply, sniffSocks, type SocksReply, type SocksTarget } from './socks.js';
export { MAX_NAME_LENGTH } from './name.js';
export { contiguousPrefix, type StreamFragment } from './assemble.js';

/**
 * `data` = the client→server payload bytes from the start of the stream seen so far (the
 * caller puts segments in stream order with contiguousPrefix, bounded to 16 KiB). A TLS
 * ClientHello (also split across records / segments) gives its server_name as kind 'sni'; an
 * HTTP/1.x request gives its first Host without port as kind 'http'. Names are lower-cased,
 * without a trailing dot, with bytes outside printable ASCII escaped as \xNN. 'more': call
 * again with more bytes appended; 'none': no name to be had.
 */
export function sniffStream(data: Buffer, offset: number, length: number): SniffResult {
  const off = Math.max(0, Math.floor(offset) || 0);
  const end = Math.min(data.length, off + Math.max(0, Math.floor(length) || 0));
  if (end <= off) return MORE;
  try {
    if (looksLikeTls(data, off, end)) return sniffTls(data, off, end);
    if (looksLikeHttp(data, off, end)) return sniffHttp(data, off, end);
  } catch {
    // Every read is bounds-checked; this backstop keeps a parser bug off the capture callback.
  }
  return NONE;
}
