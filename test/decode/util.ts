import { DecodeStats, PacketInfo, decodePacket } from '../../lib/decode/index.js';

export interface Decoded { ok: boolean; out: PacketInfo; stats: DecodeStats }

/** Decode one frame with fresh state; wireLen defaults to the frame length (a complete capture). */
export function decodeOne(linkType: number, frame: Buffer, opts: { caplen?: number; wireLen?: number } = {}): Decoded {
  const out = new PacketInfo();
  const stats = new DecodeStats();
  const ok = decodePacket(linkType, frame, opts.caplen ?? frame.length, out, stats, opts.wireLen ?? frame.length);
  return { ok, out, stats };
}

/** The one counter a rejected frame must have moved, as 'errors.kind' or 'skipped.kind'. */
export function onlyCounter(stats: DecodeStats): string {
  const all = [
    ...Object.entries(stats.errors).map(([k, v]) => [`errors.${k}`, v] as const),
    ...Object.entries(stats.skipped).map(([k, v]) => [`skipped.${k}`, v] as const),
  ].filter(([, v]) => v > 0);
  if (all.length !== 1 || all[0][1] !== 1) throw new Error(`expected exactly one counter, got ${JSON.stringify(all)}`);
  return all[0][0];
}
