// Compressed capture files. Captures are often kept and shared gzip-compressed (`.pcap.gz`,
// `.pcapng.gz`: Wireshark writes and reads them, tshark too), and libpcap reads neither: it
// said "unknown file format". A gzip file is inflated into a temporary file and replayed from
// there (a regular file, so a long replay can still pause and read on: pipeline/index.ts).
// Other compressions get an error that names them and the command that undoes them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { CaptureError } from './errors.js';
import { regularFileHead } from './replay.js';

/** Magic numbers of compressed files, and how to undo the ones we do not read. */
const OTHERS: { magic: number[]; name: string; undo: string }[] = [
  { magic: [0x28, 0xb5, 0x2f, 0xfd], name: 'zstd', undo: 'zstd -d' },
  { magic: [0x04, 0x22, 0x4d, 0x18], name: 'lz4', undo: 'lz4 -d' },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], name: 'xz', undo: 'xz -dk' },
  { magic: [0x42, 0x5a, 0x68], name: 'bzip2', undo: 'bzip2 -dk' },
];
const GZIP = [0x1f, 0x8b];

export interface Inflated {
  /** The capture to replay: a temporary file holding the inflated bytes. */
  path: string;
  /** Set when the gzip stream broke off (cut short or corrupt): what was inflated before is replayed. */
  error?: string;
  /** Removes the temporary file. */
  remove(): void;
}

/**
 * For a gzip-compressed capture, inflates it into a temporary file; undefined for anything
 * else (libpcap reads or refuses it). Throws CaptureError for other compressions, and for a
 * gzip file of which nothing could be inflated or written (a full temporary directory).
 * A pipe, a FIFO or `-` is not looked into: its first bytes cannot be read twice.
 */
export async function inflateIfCompressed(file: string, tmpRoot = os.tmpdir()): Promise<Inflated | undefined> {
  const head = regularFileHead(file, 8);
  if (head === undefined) return undefined;
  const other = OTHERS.find((o) => startsWith(head, o.magic));
  if (other) {
    throw new CaptureError(`cannot open capture file ${file}: it is ${other.name}-compressed, which egresswatch does not read; `
      + `decompress it first (${other.undo} ${file}) and replay the result`);
  }
  if (!startsWith(head, GZIP)) return undefined;
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join(tmpRoot, 'egresswatch-replay-'));
  } catch (err) {
    throw new CaptureError(`cannot inflate gzip capture file ${file}: no temporary directory under ${tmpRoot} (${(err as Error).message}); `
      + `set TMPDIR to a writable directory, or decompress it first (gzip -dk ${file})`);
  }
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  const out = path.join(dir, path.basename(file).replace(/\.gz$/i, '') || 'capture');
  let broke: string | undefined;
  try {
    await pipeline(fs.createReadStream(file), zlib.createGunzip(), fs.createWriteStream(out));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR "unexpected end of file") are the file's; any
    // other (ENOSPC writing the temporary file) is the machine's.
    if (typeof e.code !== 'string' || !e.code.startsWith('Z_')) {
      remove();
      const fix = e.code === 'ENOSPC' || e.code === 'EDQUOT'
        ? `free space there or set TMPDIR to a roomier directory, or decompress it first: gzip -dk ${file}`
        : `decompress it first: gzip -dk ${file}`;
      throw new CaptureError(`cannot inflate gzip capture file ${file} into ${dir}: ${e.message} (${fix})`);
    }
    broke = e.message;
  }
  if (broke === undefined) return { path: out, remove };
  const size = fs.statSync(out).size;
  if (size === 0) {
    remove();
    throw new CaptureError(`cannot open capture file ${file}: it starts like a gzip file but nothing could be inflated (${broke})`);
  }
  return { path: out, error: `the gzip stream breaks off after ${size} bytes (${broke}): the packets before that were replayed`, remove };
}

function startsWith(head: Buffer, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}
