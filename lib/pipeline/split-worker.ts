// The judging thread of a split replay (split-replay.ts): opens the alert outputs and the
// baseline, plays the reading thread's records on its Pipeline (BackPlayer), pausing where a
// single-threaded replay would to let the baseline's writes and the alerts catch up, and posts
// its counts at the end. Stays for the next replay of the process.
import { parentPort } from 'node:worker_threads';
import winston from 'winston';
import Transport from 'winston-transport';
import { PAUSE_CHECK_EVERY } from '../capture/index.js';
import { BackPlayer } from './split-back.js';
import { READER_FAILED, RingReader } from './split-ring.js';
import { closeJudging, MAX_PENDING_JUDGMENTS, openJudging, type Judging } from './replay-parts.js';
import { errorData, type FromJudging, type JudgingStart } from './split-replay.js';

const port = parentPort;
if (port === null) throw new Error('split-worker.js runs as a worker thread (split-replay.ts)');

/** Log lines go to the main thread's logger (their fields as data: a function or the like as its text). */
class ToMain extends Transport {
  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(info)) copy[k] = v;
    try {
      post({ type: 'log', info: copy });
    } catch {
      post({ type: 'log', info: JSON.parse(JSON.stringify(copy, plain)) as Record<string, unknown> });
    }
    next();
  }
}

/** JSON.stringify's replacer for a log line's fields that cannot be posted as they are. */
function plain(_key: string, v: unknown): unknown {
  if (v instanceof Error) return { message: v.message, stack: v.stack };
  if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') return String(v);
  return v;
}

function post(m: FromJudging): void {
  (port as NonNullable<typeof port>).postMessage(m);
}

/** The ring of the replay being judged: marked failed when this thread dies of an error nobody caught. */
let current: RingReader | undefined;

// The reading thread may be waiting for room in the ring, where no message reaches it: the
// ring's state tells it this thread is gone (an error out of the pipeline's asynchronous work,
// which a one-thread replay would die of too), then the error goes to the main thread.
process.on('uncaughtException', (err) => {
  current?.fail(READER_FAILED);
  post({ type: 'error', error: errorData(err) });
  process.exit(1);
});

async function judge(m: JudgingStart): Promise<void> {
  const reader = new RingReader(m.ring);
  current = reader;
  let j: Judging | undefined;
  // While this thread waits for asynchronous work (the baseline opening, a pause, the end) the
  // reading thread may be waiting for room: it hears that this one is alive (STALL_MS).
  reader.beat();
  const beats = setInterval(() => reader.beat(), 1000);
  try {
    const logger = winston.createLogger({ level: m.logLevel, transports: [new ToMain()] });
    // --stdout lines go on the same port as the end of the replay: all are out before its statistics.
    j = await openJudging(m.config, m.settings, logger, (text) => post({ type: 'stdout', text }));
    const p = j.pipeline;
    const player = new BackPlayer(reader, p, new Int32Array(m.wants), PAUSE_CHECK_EVERY, () => p.pendingJudgments >= MAX_PENDING_JUDGMENTS);
    for (;;) {
      const r = player.play();
      if (r.kind === 'finish') {
        const judged = await closeJudging(j, m.config, logger);
        j = undefined;
        post({ type: 'done', judged, front: r.front as Extract<FromJudging, { type: 'done' }>['front'], pauses: player.pauses });
        return;
      }
      await p.drain();
      await j.alerts.flush();
    }
  } catch (err) {
    reader.fail(READER_FAILED);
    if (j !== undefined) await Promise.allSettled([j.baseline.close(), j.alerts.close()]);
    post({ type: 'error', error: errorData(err) });
  } finally {
    clearInterval(beats);
  }
}

port.on('message', (m: JudgingStart) => {
  if (m.type === 'start') void judge(m);
});
