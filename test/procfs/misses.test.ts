// The order the expensive scans go through pids (misses.ts newestFirst): the most recently
// started first, by number, also after the kernel's ids wrapped around at pid_max.
import assert from 'node:assert/strict';
import { newestFirst } from '../../lib/procfs/misses.js';

describe('procfs: newest pids first for the miss scans', () => {
  it('without a wrap: highest first', () => {
    assert.deepEqual(newestFirst([300, 4100, 1, 2200], 5000), [4100, 2200, 300, 1]);
  });

  it('after a wrap: the ids given out since it (300 up to the last one) first, then those from before it, then boot\'s', () => {
    // pid_max 32768: the ids ran up to 32767, started again at 300 (RESERVED_PIDS), and the last one given out is 350.
    const pids = [1, 220, 301, 350, 4100, 30000, 32767];
    assert.deepEqual(newestFirst(pids, 350), [350, 301, 32767, 30000, 4100, 220, 1]);
  });

  it('without the last id (ns_last_pid unreadable): highest first; the list given is left as it was', () => {
    const pids = [7, 9, 8];
    assert.deepEqual(newestFirst(pids, undefined), [9, 8, 7]);
    assert.deepEqual(pids, [7, 9, 8]);
  });
});
