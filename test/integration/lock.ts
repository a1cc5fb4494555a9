// One test internet per machine at a time. Two runs would put the same link address on two
// veths and each would remove the other's namespace as a "leftover", so the harness holds an
// exclusive flock(1) for its whole life. The lock lives in a `flock … cat` child reading our
// stdin: when this process dies for any reason the pipe closes, cat exits and the kernel
// releases the lock, so a killed run never leaves a stale lock behind.
import fs from 'node:fs';
import path from 'node:path';
import { Daemon } from './proc.js';

export const LOCK_FILE = path.join(fs.existsSync('/run/lock') ? '/run/lock' : '/tmp', 'egresswatch-netns.lock');

export class HarnessLock {
  private constructor(private readonly holder: Daemon) {}

  /** Waits up to timeoutMs for the lock (another run of these tests may hold it). */
  static async acquire(timeoutMs: number, file = LOCK_FILE): Promise<HarnessLock> {
    const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
    const d = new Daemon('flock', 'flock', ['-x', '-w', String(secs), file, '-c', 'echo locked; exec cat >/dev/null'], { keepStdin: true });
    try {
      await d.waitForOutput(/^locked$/m, timeoutMs + 2000);
    } catch (e) {
      await d.stop('SIGKILL');
      throw new Error(`another run of the network tests held ${file} for ${secs} s: ${(e as Error).message}`, { cause: e });
    }
    return new HarnessLock(d);
  }

  /** Releases the lock: closing cat's stdin ends the holder. */
  async release(): Promise<void> {
    this.holder.child.stdin?.end();
    await this.holder.stop('SIGTERM', 2000).catch(() => undefined);
  }
}
