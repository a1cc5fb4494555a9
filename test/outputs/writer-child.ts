// A small writer for the logrotate tests: an AlertFile that holds on SIGUSR2 and reopens on
// SIGHUP, as the agent does, appending `count` numbered alerts one every `intervalMs`, then
// exiting (or at SIGTERM, after the alerts written so far). argv: FILE COUNT INTERVAL_MS
// [HOLD_TIMEOUT_MS]. Prints "ready" once the signal
// handlers are installed and, at the end,
// "done LINES REOPENS FOLLOWED CREATED_AFTER_WAIT REOPEN_ERRORS RACED_SEQS|- HOLDS QUEUED HOLD_TIMEOUTS".
import { AlertFile } from '../../lib/outputs/index.js';

const [file, countArg, intervalArg, holdTimeoutArg] = process.argv.slice(2);
const count = Number(countArg);
const intervalMs = Number(intervalArg);
const holdTimeoutMs = holdTimeoutArg === undefined ? undefined : Number(holdTimeoutArg);
if (!file || !Number.isInteger(count) || count <= 0 || !Number.isFinite(intervalMs)) {
  process.stderr.write('usage: writer-child FILE COUNT INTERVAL_MS [HOLD_TIMEOUT_MS]\n');
  process.exit(2);
}

// maxBytes 0: logrotate does the rotating here.
const out = new AlertFile(file, { maxBytes: 0, hold: { timeoutMs: holdTimeoutMs } });
out.open();
let reopens = 0;
process.on('SIGHUP', () => {
  out.reopen();
  reopens += 1;
});
process.on('SIGUSR2', () => out.hold());

const pad = 'p'.repeat(200);
let seq = 0;
/** Alerts whose write(2) overlapped a rename (AlertFile.renameRaces went up during it). */
const raced: number[] = [];
function finish(): void {
  clearInterval(timer);
  out.close();
  const h = out.held;
  process.stdout.write(`done ${out.lines} ${reopens} ${out.renamesFollowed} ${out.createdAfterWait} ${out.reopenErrors} `
    + `${raced.join(',') || '-'} ${h.holds} ${h.queued} ${h.timeouts}\n`);
}
const timer = setInterval(() => {
  const races = out.renameRaces;
  out.write({ seq, event: { id: `alert-${seq}` }, pad });
  if (out.renameRaces !== races) raced.push(seq);
  seq += 1;
  if (seq >= count) finish();
}, intervalMs);
process.once('SIGTERM', () => {
  if (seq < count) finish();
});
process.stdout.write('ready\n');
