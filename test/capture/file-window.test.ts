// file-window.ts, the window both replay readers see a capture file through: any range it
// hands out holds the file's bytes at that place, across its chunk's refills; a range past
// the end is refused; and a read that fails (an I/O error) is told apart from the file's
// clean end, so that a reader reports the file as not read to its end.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHUNK, FileWindow } from '../../lib/capture/file-window.js';

describe('capture/file-window', () => {
  let dir: string;
  let file: string;
  let data: Buffer;
  const size = 2 * CHUNK + 12_345;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-window-'));
    file = path.join(dir, 'data.bin');
    data = crypto.randomBytes(size);
    fs.writeFileSync(file, data);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function withFd<T>(fn: (fd: number) => T): T {
    const fd = fs.openSync(file, 'r');
    try {
      return fn(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  it('hands out the file bytes of every range asked for, moving forward across chunk refills', () => {
    withFd((fd) => {
      const w = new FileWindow(fd, 0);
      // Ranges that start inside a chunk and end past it, a range as long as a chunk, short ones.
      const asks: [number, number][] = [[0, 24], [24, 1000], [CHUNK - 10, 20], [CHUNK + 5, CHUNK], [2 * CHUNK + 100, 16],
        [2 * CHUNK + 200, 12_000], [size - 7, 7]];
      for (const [at, n] of asks) {
        const p = w.bytes(at, n);
        assert.ok(p >= 0, `range ${at}+${n} refused`);
        assert.ok(w.buf.subarray(p, p + n).equals(data.subarray(at, at + n)), `range ${at}+${n} holds other bytes`);
      }
      assert.equal(w.endsAt(size), false, 'the end not read yet');
      assert.equal(w.bytes(size - 7, 8), -1, 'a range past the end');
      assert.equal(w.endsAt(size), true);
      assert.equal(w.endsAt(size - 7), false);
    });
  });

  it('starts at the offset it is given (a resumed read)', () => {
    withFd((fd) => {
      const start = CHUNK + 777;
      const w = new FileWindow(fd, start);
      const p = w.bytes(start, 4096);
      assert.ok(w.buf.subarray(p, p + 4096).equals(data.subarray(start, start + 4096)));
    });
  });

  it('takes a read that fails for an error, not for the end of the file', () => {
    const fd = fs.openSync(file, 'r');
    const w = new FileWindow(fd, 0);
    assert.ok(w.bytes(0, 64) >= 0);
    // The descriptor goes bad under the reader (as a failing disk fails a read): the next refill fails.
    fs.closeSync(fd);
    assert.equal(w.bytes(CHUNK + 10, 64), -1);
    assert.equal(w.endsAt(CHUNK + 10), false, 'a failed read is not the end of the file');
  });

  it('takes a directory read (EISDIR) for an error too', () => {
    const fd = fs.openSync(dir, 'r');
    try {
      const w = new FileWindow(fd, 0);
      assert.equal(w.bytes(0, 24), -1);
      assert.equal(w.endsAt(0), false);
    } finally {
      fs.closeSync(fd);
    }
  });
});
