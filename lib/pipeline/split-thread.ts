// The judging thread of a two-thread replay (split-worker.ts) as a process keeps it, and whether
// a replay runs on two threads. Apart from split-replay.ts so that the CLI can start the thread
// before it loads the pipeline: both take ~0.4 s to load their modules, and they do it at once.
import fs from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { AgentConfig } from '../config/index.js';

/**
 * With replayThreads 0, captures smaller than this together replay on one thread: the judging
 * thread's start and its first, cold, code (both threads then take the processors V8 compiles
 * on) cost more than the second thread saves. Measured with `egresswatch replay` over the
 * benchmark's generator: 256 MB (600,000 packets) 3.1 s on two threads against 2.8-3.1 on one;
 * 852 MB (2,000,000) 3.7 s against 3.8-4.2. In a process that replays again (the benchmark) the
 * thread is kept, warm: ~0.85 µs a packet against ~1.3.
 */
export const SPLIT_MIN_BYTES = 512 * 1024 * 1024;

/**
 * With replayThreads 0, a process whose heap may not grow past this replays on one thread: two
 * threads hold two heaps and the ring (Node sizes its heap from a memory limit: ~259 MB in a
 * 512 MiB pod, which one thread's replay is bounded to fit).
 */
export const SPLIT_MIN_HEAP_BYTES = 1024 * 1024 * 1024;

/**
 * Threads for a replay of `files`: config.replayThreads, or with 0 two when the machine has two
 * processors, the heap room to spare (SPLIT_MIN_HEAP_BYTES) and the files hold SPLIT_MIN_BYTES
 * or more (a pipe, whose size is not known, counts as large).
 */
export function replayThreads(config: Readonly<AgentConfig>, files: readonly string[],
  heapLimitBytes: number = v8.getHeapStatistics().heap_size_limit): number {
  if (config.replayThreads === 1 || config.replayThreads === 2) return config.replayThreads;
  if (os.availableParallelism() < 2 || heapLimitBytes < SPLIT_MIN_HEAP_BYTES) return 1;
  let bytes = 0;
  for (const file of files) {
    try {
      const st = fs.statSync(file);
      bytes += st.isFile() ? st.size : SPLIT_MIN_BYTES;
    } catch {
      // Not there: the replay says so; it does not decide the threads.
    }
  }
  return bytes >= SPLIT_MIN_BYTES ? 2 : 1;
}

/**
 * A judging thread kept from the last replay of this process (or started ahead of the first):
 * a new worker takes ~0.4 s to load its modules and runs cold code at first.
 */
let idle: Worker | undefined;

function judgingThread(): Worker {
  const worker = new Worker(new URL('./split-worker.js', import.meta.url));
  // One that ended while kept (it should not) is not handed the next replay.
  worker.once('exit', () => {
    if (idle === worker) idle = undefined;
  });
  return worker;
}

/** Starts the judging thread now, to be ready when the replay begins (it does not keep the process alive). */
export function prestartJudgingThread(): void {
  idle ??= judgingThread();
  idle.unref();
}

/** The thread for a replay: the kept one, or a new one. */
export function takeJudgingThread(): Worker {
  const worker = idle ?? judgingThread();
  idle = undefined;
  worker.ref();
  return worker;
}

/** Keeps the thread of a replay that went well for the next one (one at most). */
export function keepJudgingThread(worker: Worker): void {
  worker.unref();
  if (idle === undefined) idle = worker;
  else void worker.terminate();
}
