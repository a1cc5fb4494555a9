// Peak resident set size while a synchronous replay runs. replayFile() holds the main thread
// for the whole file, so a timer there would never fire; a worker thread samples
// process.memoryUsage.rss() (process-wide) every 10 ms and keeps the maximum in shared memory.
import { Worker } from 'node:worker_threads';

const SAMPLE_MS = 10;
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const peak = new Int32Array(workerData);
setInterval(() => {
  const kib = Math.round(process.memoryUsage.rss() / 1024);
  if (kib > Atomics.load(peak, 0)) Atomics.store(peak, 0, kib);
}, ${SAMPLE_MS});
`;

export class RssSampler {
  private readonly shared = new SharedArrayBuffer(4);
  private readonly peak = new Int32Array(this.shared);
  private readonly worker: Worker;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.shared });
    this.worker.unref();
  }

  /** Starts a new measurement window at the current RSS. */
  reset(): void {
    Atomics.store(this.peak, 0, Math.round(process.memoryUsage.rss() / 1024));
  }

  /** Peak RSS in bytes since the last reset (also sampled once more here). */
  peakBytes(): number {
    const now = Math.round(process.memoryUsage.rss() / 1024);
    return Math.max(Atomics.load(this.peak, 0), now) * 1024;
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
