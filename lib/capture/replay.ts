import fs from 'node:fs';
import { loadBinding, parseLinkType, type NativeSession } from './binding.js';
import { replayPcapng } from './pcapng.js';
import { MAXIMUM_SNAPLEN, pcapFileHeader, readPcapFile, type PcapFileHeader } from './pcap-file.js';
import { isPlainPcapng, readPcapngFile, type PcapngResume } from './pcapng-file.js';
import { PacketReader, type PacketCallback } from './callback.js';
import { CaptureError } from './errors.js';

/** No savefile record libpcap returns is longer. */
const OFFLINE_BUFFER_LENGTH = MAXIMUM_SNAPLEN;
const noWarnings = (): void => undefined;

export interface ReplayOptions {
  /** BPF filter applied by libpcap before the callback. */
  filter?: string;
  /**
   * Records read and not passed on before the first one that is: where an earlier, paused
   * replay of the same file stopped (its result's `packets`). libpcap cannot seek: a file it
   * reads is read again from its start, at the bare loop's speed.
   */
  skip?: number;
  /**
   * With `skip`: the paused result's `offset`, where record number `skip` starts. A classic
   * pcap file read by pcap-file.ts goes on from there without reading the records before it.
   */
  offset?: number;
  /**
   * With `skip`: the paused result's `pcapng`, where record number `skip` starts in a pcapng
   * file read by pcapng-file.ts, which goes on from there without reading the blocks before it.
   */
  pcapng?: PcapngResume;
  /** Read with libpcap even a file pcap-file.ts reads (the benchmark's bare loop is libpcap's). */
  libpcap?: boolean;
  /**
   * Asked after every PAUSE_CHECK_EVERY records passed on: true stops the replay after that
   * record, with `paused` set in the result, so that the caller can let asynchronous work
   * catch up (a file is read in one synchronous call) and resume with `skip` (and `offset`). Not
   * asked for a pipe, a FIFO or `-`, which cannot be opened again: those are read in one go.
   */
  shouldPause?: () => boolean;
}

export interface ReplayResult {
  packets: number;
  linkType: number;
  /** Reading stopped on a read error (e.g. a truncated last record); packets before it were delivered. */
  readError: boolean;
  /**
   * libpcap gave up inside a pcapng file after this many packets (interfaces of different link
   * types) and pcapng.ts read the rest; undefined when libpcap read the whole file.
   */
  pcapngFrom?: number;
  /** Stopped because shouldPause said so; `packets` records were read. Resume with skip = packets and offset. */
  paused?: boolean;
  /** Paused in a file pcap-file.ts reads: the byte offset of the next record. */
  offset?: number;
  /** Paused in a pcapng file pcapng-file.ts reads: where it goes on (ReplayOptions.pcapng). */
  pcapng?: PcapngResume;
}

/** How often (in records passed on) shouldPause is asked: a counter test per record, a call per 1024. */
export const PAUSE_CHECK_EVERY = 1024;

const PCAPNG_MAGIC = 0x0a0d0d0a;

/**
 * What to tell about a file whose reading stopped after `packets` packets (readError). The
 * binding reports only that a read failed, not libpcap's message. (A pcapng whose interfaces
 * differ in link type, which libpcap refuses, is read on by pcapng.ts and does not get here.)
 */
export function readErrorReason(packets: number): string {
  return `reading stopped after ${packets} packet(s) at a record that could not be read: the file is cut short or corrupt `
    + '(the packets before it were replayed)';
}

/**
 * Replay a pcap or pcapng file synchronously: onPacket runs once per record, in order, before
 * this returns. Throws CaptureError when the file cannot be opened or the filter compiled.
 * If onPacket throws, the replay stops and the error is rethrown after the file is closed.
 * Without a filter, a classic pcap file is read by pcap-file.ts and a pcapng file of the usual
 * form by pcapng-file.ts; everything else by libpcap.
 */
export function replayFile(path: string, onPacket: PacketCallback, opts: ReplayOptions = {}): ReplayResult {
  if ((opts.filter ?? '') === '' && opts.libpcap !== true) {
    const head = regularFileHead(path, 24);
    const header = head === undefined ? undefined : pcapFileHeader(head);
    if (header !== undefined) return replayPcapFile(path, header, onPacket, opts);
    if (head !== undefined && isPlainPcapng(head)) return replayPcapngFile(path, onPacket, opts);
  }
  return replayWithLibpcap(path, onPacket, opts);
}

/**
 * pcap-file.ts's read of a classic pcap file, with replayFile's skip and pause; a record it
 * leaves to libpcap (see there) makes libpcap read on from it.
 */
function replayPcapFile(path: string, header: PcapFileHeader, onPacket: PacketCallback, opts: ReplayOptions): ReplayResult {
  const skip = opts.skip ?? 0;
  // With the offset of record `skip`, reading starts there; without, the records before it are read and not passed on.
  const resume = skip > 0 && opts.offset !== undefined;
  const r = readPcapFile(path, header, onPacket, {
    offset: resume ? opts.offset : undefined,
    skip: resume ? 0 : skip,
    shouldPause: opts.shouldPause,
    pauseEvery: PAUSE_CHECK_EVERY,
  });
  // Records read from the start of the file, as libpcap's replay counts them.
  const packets = resume ? skip + r.packets : r.packets;
  if (r.handOff) return replayWithLibpcap(path, onPacket, { ...opts, skip: Math.max(packets, skip), offset: undefined });
  return { packets, linkType: header.linkType, readError: r.readError, ...(r.paused ? { paused: true, offset: r.offset } : {}) };
}

/**
 * pcapng-file.ts's read of a pcapng file, with replayFile's skip and pause (a resumed read goes on
 * from the paused one's `pcapng`); a block it leaves to libpcap makes libpcap read on from it.
 */
function replayPcapngFile(path: string, onPacket: PacketCallback, opts: ReplayOptions): ReplayResult {
  const skip = opts.skip ?? 0;
  // With where record `skip` starts, reading goes on there; without, the packets before it are read and not passed on.
  const resume = skip > 0 && opts.pcapng !== undefined;
  const r = readPcapngFile(path, onPacket, {
    from: resume ? opts.pcapng : undefined,
    skip: resume ? 0 : skip,
    shouldPause: opts.shouldPause,
    pauseEvery: PAUSE_CHECK_EVERY,
  });
  // Packets read from the start of the file, as libpcap's replay counts them.
  const packets = resume ? skip + r.packets : r.packets;
  if (r.handOff) return replayWithLibpcap(path, onPacket, { ...opts, skip: Math.max(packets, skip), offset: undefined, pcapng: undefined });
  return { packets, linkType: r.linkType, readError: false, ...(r.paused ? { paused: true, pcapng: r.resume } : {}) };
}

function replayWithLibpcap(path: string, onPacket: PacketCallback, opts: ReplayOptions): ReplayResult {
  const binding = loadBinding();
  const filter = opts.filter ?? '';
  let linkType = -1;
  let failure: { err: unknown } | undefined;
  let paused = false;
  const session = new binding.PcapSession();
  const skip = opts.skip ?? 0;
  // Only a regular file can be opened again to resume: anything else is read in one go.
  const shouldPause = opts.shouldPause !== undefined && isRegularFile(path) ? opts.shouldPause : undefined;
  let read = 0;
  // The callback as given when there is nothing to skip or pause: the bare loop stays bare.
  const deliver: PacketCallback = skip === 0 && shouldPause === undefined ? onPacket : (buf, caplen, wireLen, tsMs, lt) => {
    if (++read <= skip) return;
    onPacket(buf, caplen, wireLen, tsMs, lt);
    if (shouldPause !== undefined && (read - skip) % PAUSE_CHECK_EVERY === 0 && !paused && shouldPause()) {
      paused = true;
      session.close(); // pcap_breakloop: dispatch returns -2 after this packet and frees the handle
    }
  };
  const reader = new PacketReader(OFFLINE_BUFFER_LENGTH, () => linkType, deliver, (err) => {
    failure ??= { err };
    session.close(); // pcap_breakloop: dispatch returns -2 after this packet and frees the handle
  });
  try {
    linkType = parseLinkType(session.open_offline(path, filter, 0, OFFLINE_BUFFER_LENGTH, '', reader.ready, false, 0, noWarnings, false));
  } catch (err) {
    throw openFailure(binding.PcapSession, session, reader, path, filter, err);
  }

  const result = session.dispatch(reader.buf, reader.header);
  const readError = result === -1;
  if (result !== -2) {
    session.close();
    session.dispatch(reader.buf, reader.header); // returns -2: offline reads check the break first
  }
  if (failure) throw failure.err;
  if (paused) return { packets: reader.packets, linkType, readError: false, paused: true };
  if (readError && filter === '' && isPcapng(path)) {
    // libpcap refuses a pcapng whose interfaces differ in link type (and stops at a corrupt
    // block): our reader takes over after the packets libpcap delivered, and stops at the same
    // corrupt block if that was the reason.
    // (Not paused: our reader goes to the end of the file; it is reached only past a mixed link type.)
    const rest = replayPcapng(path, onPacket, reader.buf, Math.max(reader.packets, skip));
    return { packets: rest.records, linkType, readError: rest.readError, pcapngFrom: reader.packets };
  }
  return { packets: reader.packets, linkType, readError };
}

/** A regular file (not a pipe, a FIFO, a device or `-`): one that can be opened again and read from its start. */
function isRegularFile(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The first `bytes` bytes of a regular file (fewer when it is shorter); undefined for anything
 * else or a file that cannot be read (libpcap then says why). A pipe's first bytes cannot be
 * read twice, so it is not looked into.
 */
export function regularFileHead(path: string, bytes: number): Buffer | undefined {
  if (!isRegularFile(path)) return undefined;
  try {
    const fd = fs.openSync(path, 'r');
    try {
      const head = Buffer.alloc(bytes);
      return head.subarray(0, fs.readSync(fd, head, 0, bytes, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** A regular file that starts like a pcapng (a pipe cannot be read a second time). */
function isPcapng(path: string): boolean {
  const head = regularFileHead(path, 4);
  return head !== undefined && head.length === 4 && head.readUInt32LE(0) === PCAPNG_MAGIC;
}

/**
 * Tell a bad file from a bad filter. The binding leaves the handle NULL when the file does not
 * open (nothing to free; touching it would crash) and open when only the filter failed (free
 * it with close + dispatch). Opening once more without the filter tells which.
 */
function openFailure(Session: new () => NativeSession, failed: NativeSession, reader: PacketReader,
  path: string, filter: string, err: unknown): CaptureError {
  const reason = (err as Error).message;
  if (filter !== '') {
    const probe = new Session();
    let fileOpens = false;
    try {
      probe.open_offline(path, '', 0, OFFLINE_BUFFER_LENGTH, '', reader.ready, false, 0, noWarnings, false);
      fileOpens = true;
    } catch {
      // the file itself is the problem; reported below
    }
    if (fileOpens) {
      for (const s of [probe, failed]) {
        s.close();
        s.dispatch(reader.buf, reader.header);
      }
      return new CaptureError(`invalid capture filter "${filter}" for ${path}: ${reason}`);
    }
  }
  return new CaptureError(`cannot open capture file ${path}: ${reason}`);
}
