// capture: libpcap sessions on live interfaces and savefiles, the BPF filter, drop statistics.
// The only importer of the `pcap` package. Packets reach the caller as (buffer, lengths,
// timestamp, link type) on a reused buffer; decoding is the decode stage's job.
export { CaptureError } from './errors.js';
export type { PacketCallback } from './callback.js';
export { PAUSE_CHECK_EVERY, readErrorReason, replayFile, type ReplayOptions, type ReplayResult } from './replay.js';
export { inflateIfCompressed, type Inflated } from './compressed.js';
export { CaptureStopped, LiveCapture, ringPackets, type LiveOptions, type InterfaceStats } from './live.js';
export { buildBpfFilter } from './filter.js';
export { interfaceNames, libpcapVersion } from './interfaces.js';
export { parseLinkType } from './binding.js';
