// The dns stage: DNS responses (UDP payloads and TCP streams from a DNS port) → A/AAAA
// answers with their CNAME chains → the bounded IP → name cache connections are named from.
export { parseDnsResponse, MAX_CNAME_CHAIN } from './parse.js';
export type { DnsAddressAnswer, DnsResponseInfo } from './parse.js';
export { DnsStats } from './stats.js';
export { DnsTcpStreams, MAX_STREAM_BYTES } from './tcp.js';
export type { DnsTcpStreamsOptions, DnsMessageHandler } from './tcp.js';
export { NameCache } from './cache.js';
export type { NameCacheOptions, NameLookup } from './cache.js';
export { parseDnsQuery, readDnsQuery } from './query.js';
export type { DnsQueryHead, DnsQueryInfo } from './query.js';
export { textNameHash } from './names.js';
export { QueryTracker, QueryTrackerStats } from './query-tracker.js';
export { IPV6_KEY, QueryKey, queryKey, textQueryKey } from './query-key.js';
export type { QueryTrackerOptions } from './query-tracker.js';
export { toUnicodeName, escapeName, displayName } from './idn.js';
export { isEncryptedDnsEndpoint, EncryptedDnsEndpoints, ENCRYPTED_DNS_PORT, PUBLIC_DOH_ADDRESSES, PUBLIC_DOH_NAMES } from './doh.js';
