// A reader of classic pcap files (the savefile format of tcpdump and libpcap, version 2.4, either
// byte order, microsecond or nanosecond timestamps) for replays.
//
// Why not libpcap here: the binding calls into JavaScript once per record after copying it into
// its buffer, ~530 ns a record on the bench machine (bench/RESULTS.md), a fifth of a whole
// replay. Reading the file in 1 MiB chunks and handing each record over where it lies in the
// chunk (the callback's `offset`) costs ~100-150 ns a record, and a paused replay resumes at
// the byte where it stopped instead of reading the file again from its start.
//
// libpcap stays the reader of everything else: pcapng, the older and the "modified" pcap
// formats, pipes, and replays with a BPF filter. Where this reader meets a record it would have
// to decide differently from libpcap (a capture length past the file's snapshot length, which
// libpcap cuts down to it or refuses), it stops before that record and says so (`handOff`), and
// the caller lets libpcap read on from there. The records delivered are the ones libpcap
// delivers, with the same lengths, timestamps and link type (test/capture/pcap-file.test.ts
// checks both readers against each other over the corpus).
import fs from 'node:fs';
import type { PacketCallback } from './callback.js';
import { CaptureError } from './errors.js';
import { FileWindow } from './file-window.js';

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
/** libpcap's MAXIMUM_SNAPLEN: no record it returns is longer; the snapshot length it uses for a header's 0 or larger value. */
export const MAXIMUM_SNAPLEN = 262144;

/**
 * libpcap's linktype_to_dlt for the LINKTYPE_ values whose DLT_ number differs on Linux; every
 * other value is the same number in both.
 */
const DLT_OF: Record<number, number> = { 100: 11, 101: 12, 102: 15, 103: 16 };

/** The DLT_ number libpcap gives for a file's LINKTYPE_ value. */
export function dltOf(linkType: number): number {
  return DLT_OF[linkType] ?? linkType;
}

export interface PcapFileHeader {
  littleEndian: boolean;
  /** Nanosecond timestamps (magic 0xa1b23c4d). */
  nanos: boolean;
  /** libpcap's pcap_datalink(): the DLT_ number of the header's link type. */
  linkType: number;
  /** libpcap's snapshot length for the file: the header's, or MAXIMUM_SNAPLEN for 0 or more than that. */
  snapLength: number;
}

/**
 * The header of a classic pcap file this reader takes (version 2.4, the link type's reserved
 * bits clear; its FCS bits masked, as LT_LINKTYPE does), from the file's first 24 bytes;
 * undefined for anything else.
 */
export function pcapFileHeader(head: Buffer): PcapFileHeader | undefined {
  if (head.length < GLOBAL_HEADER) return undefined;
  let littleEndian: boolean;
  let magic = head.readUInt32LE(0);
  if (magic === MAGIC_US || magic === MAGIC_NS) littleEndian = true;
  else {
    magic = head.readUInt32BE(0);
    if (magic !== MAGIC_US && magic !== MAGIC_NS) return undefined;
    littleEndian = false;
  }
  const u16 = (at: number): number => (littleEndian ? head.readUInt16LE(at) : head.readUInt16BE(at));
  const u32 = (at: number): number => (littleEndian ? head.readUInt32LE(at) : head.readUInt32BE(at));
  if (u16(4) !== 2 || u16(6) !== 4) return undefined;
  const snap = u32(16);
  const raw = u32(20);
  // Reserved bits set: libpcap versions differ on such a file (1.10.3 opens it, later ones
  // refuse it); it is left to the libpcap installed.
  if ((raw & 0x03ff0000) !== 0) return undefined;
  const lt = raw & 0xffff;
  return {
    littleEndian,
    nanos: magic === MAGIC_NS,
    linkType: dltOf(lt),
    snapLength: snap === 0 || snap > MAXIMUM_SNAPLEN ? MAXIMUM_SNAPLEN : snap,
  };
}

export interface PcapFileOptions {
  /** Byte offset of the first record to read (a paused read's `offset`); the first record by default. */
  offset?: number;
  /** Records read and not passed on before the first one that is. */
  skip?: number;
  /** Asked after every `pauseEvery` records passed on: true stops the read after that record. */
  shouldPause?: () => boolean;
  pauseEvery?: number;
}

export interface PcapFileResult {
  /** Records read by this call: passed to the callback, and skipped. */
  packets: number;
  /** Byte offset of the next record: where a paused or handed-off read goes on. */
  offset: number;
  /** Stopped at a record cut short (header or data): the file is truncated. */
  readError: boolean;
  paused: boolean;
  /** Stopped before a record whose length libpcap would cut or refuse: libpcap should read on from it. */
  handOff: boolean;
}

/**
 * Reads the records of the classic pcap file at `path` (whose header is `header`) from
 * `opts.offset`, calling `onPacket(chunk, caplen, wireLen, tsMs, linkType, undefined, at)` for
 * each, in order: the record's bytes are chunk[at, at + caplen), valid only during the call.
 * Throws CaptureError when the file cannot be opened; a read that fails ends it (readError).
 * What onPacket throws is thrown on, after the file is closed.
 */
export function readPcapFile(path: string, header: PcapFileHeader, onPacket: PacketCallback, opts: PcapFileOptions = {}): PcapFileResult {
  return withCaptureFile(path, (fd) => readRecords(fd, header, onPacket, opts));
}

/** `read` of the file at `path` opened for reading, closed after; CaptureError when it cannot be opened. */
export function withCaptureFile<T>(path: string, read: (fd: number) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw new CaptureError(`cannot open capture file ${path}: ${(err as Error).message}`);
  }
  try {
    return read(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readRecords(fd: number, h: PcapFileHeader, onPacket: PacketCallback, opts: PcapFileOptions): PcapFileResult {
  const le = h.littleEndian;
  const linkType = h.linkType;
  const snap = h.snapLength;
  const usPerUnit = h.nanos ? 1000 : 1;
  const pauseEvery = opts.pauseEvery ?? 1024;
  const shouldPause = opts.shouldPause;
  const skip = opts.skip ?? 0;
  let at = opts.offset ?? GLOBAL_HEADER;
  const w = new FileWindow(fd, at);
  const c = w.buf;
  let packets = 0;
  const result = (readError: boolean, paused: boolean, handOff: boolean): PcapFileResult => ({ packets, offset: at, readError, paused, handOff });
  for (;;) {
    let p = w.bytes(at, RECORD_HEADER);
    // A header cut short, or a read that failed: libpcap reads either as an error too.
    if (p < 0) return result(!w.endsAt(at), false, false);
    const caplen = u32(c, p + 8, le);
    if (caplen > snap) return result(false, false, true);
    p = w.bytes(at, RECORD_HEADER + caplen);
    if (p < 0) return result(true, false, false);
    const sec = u32(c, p, le);
    // libpcap hands nanosecond files over in microseconds (truncated), as it opened them.
    const us = Math.floor(u32(c, p + 4, le) / usPerUnit);
    const wireLen = u32(c, p + 12, le);
    at += RECORD_HEADER + caplen;
    if (++packets <= skip) continue;
    onPacket(c, caplen, wireLen, sec * 1000 + us / 1000, linkType, undefined, p + RECORD_HEADER);
    if (shouldPause !== undefined && (packets - skip) % pauseEvery === 0 && shouldPause()) return result(false, true, false);
  }
}

/** The unsigned 32-bit word at b[at], little-endian when `le`. */
export function u32(b: Buffer, at: number, le: boolean): number {
  return le
    ? (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0
    : ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
