// The records the two threads of a split replay (split-replay.ts) pass through their shared ring
// (split-ring.ts): what the reading thread's stages saw (split-front.ts writes them), for the
// judging thread to play on its own (split-back.ts). The reading thread decodes, keeps the flow
// table and hands over: DNS packets (a UDP query as its tracker key), connection starts, the
// client's first payloads while they may be wanted, each packet of a tracked flow as counted,
// ends and ticks. The judging thread keeps a copy of each tracked flow (the same Flow fields,
// from these records) and runs the DNS stage and the connection path on them exactly as a
// single-threaded replay would, record after record.
import type { FlowEndReason } from '../flows/index.js';

export const FILE = 1;
export const FILE_END = 2;
export const TICK = 3;
/** A DNS packet (either way). */
export const DNS = 4;
export const START = 5;
/** A packet of a tracked flow counted: direction, answer, IP length. */
export const COUNTED = 6;
export const CLIENT_PAYLOAD = 7;
export const SERVER_PAYLOAD = 8;
export const CLIENT_CHANGED = 9;
export const END = 10;
export const FINISH = 11;
/** A DNS query over UDP, as its tracker key. */
export const QUERY = 12;

/** The packet fields the judging thread's stages read, then the addresses (16 bytes each) and the payload. */
export const PACKET_FIELDS = 12;
export const END_REASONS: readonly FlowEndReason[] = ['fin', 'rst', 'idle', 'evicted', 'shutdown'];

/** The shared words of FrontSink's `wants` for a flow table of `maxFlows`. */
export function wantsFor(maxFlows: number): SharedArrayBuffer {
  return new SharedArrayBuffer(8 * (maxFlows + 1));
}
