// The part of a capture file the replay's own readers (pcap-file.ts, pcapng-file.ts) look at:
// they ask for file bytes [at, at + n) and get where those lie in one reused chunk, read in
// pieces of CHUNK bytes. Reads only move forward: what is left from `at` is kept at the front
// of the chunk when more is read, so a record or block cut by a piece's end is whole again.
import fs from 'node:fs';

/** Read size; holds a whole classic pcap record (at most libpcap's 262,144 bytes and a header); a larger pcapng block is left to libpcap. */
export const CHUNK = 1 << 20;

export class FileWindow {
  readonly buf = Buffer.allocUnsafe(CHUNK);
  /** File offset of buf[0]; buf[0, have) holds file bytes. */
  private base: number;
  private have = 0;
  /** Nothing more to read: the end of the file, or a read that failed. */
  private eof = false;
  /** A read failed (an I/O error): where reading stopped is not the file's end. */
  private failed = false;

  constructor(private readonly fd: number, start: number) {
    this.base = start;
  }

  /** Offset in buf of file bytes [at, at + n) (n at most CHUNK), reading as needed; -1 when the file has fewer. */
  bytes(at: number, n: number): number {
    if (at >= this.base && at + n <= this.base + this.have) return at - this.base;
    if (at >= this.base && at <= this.base + this.have) {
      this.buf.copyWithin(0, at - this.base, this.have);
      this.have -= at - this.base;
    } else {
      this.have = 0;
    }
    this.base = at;
    while (this.have < n && !this.eof) {
      let got: number;
      try {
        got = fs.readSync(this.fd, this.buf, this.have, CHUNK - this.have, this.base + this.have);
      } catch {
        got = 0;
        this.failed = true;
      }
      if (got === 0) this.eof = true;
      this.have += got;
    }
    return this.have >= n ? 0 : -1;
  }

  /** True when the file was read to its end without an error and ends exactly at `at`. */
  endsAt(at: number): boolean {
    return this.eof && !this.failed && at === this.base + this.have;
  }
}
