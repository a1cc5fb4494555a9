// A real `tail -F` reading a file by name, as an operator or a log shipper would; the lines it
// prints are collected for the test to compare with what was written.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Tailer {
  /** Complete lines printed so far. */
  readonly lines: string[];
  /** Resolves once `ok(lines)` holds; rejects after `ms`. */
  waitUntil(ok: (lines: string[]) => boolean, ms: number, what: string): Promise<void>;
  stop(): void;
}

export function startTail(file: string): Tailer {
  // -F = --follow=name --retry; -n +1 = from the first line of each file it opens. tail uses
  // inotify when the file exists at its start; when it does not, tail polls, and by default
  // looks for a renamed file only after 5 unchanged polls of 1 s each: -s and
  // --max-unchanged-stats keep that fallback quick too.
  const args = ['-F', '--retry', '-n', '+1', '-s', '0.1', '--max-unchanged-stats=2', file];
  const child: ChildProcess = spawn('tail', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) lines.push(p);
  });
  child.stderr!.resume(); // "has been replaced; following new file" notices
  return {
    lines,
    async waitUntil(ok, ms, what) {
      const deadline = Date.now() + ms;
      while (!ok(lines)) {
        if (Date.now() > deadline) throw new Error(`tail -F did not catch up within ${ms} ms: ${what} (read ${lines.length} lines)`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/** Sequence numbers of JSON lines `{"seq":N,...}`; throws on a line that is not whole JSON. */
export function seqs(lines: string[]): number[] {
  return lines.map((l) => (JSON.parse(l) as { seq: number }).seq);
}
