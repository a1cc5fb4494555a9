// A small writer for the logrotate test: an AlertFile that reopens on SIGHUP, as the agent
// does, appending `count` numbered alerts one every `intervalMs`, then exiting.
// argv: FILE COUNT INTERVAL_MS. Prints "ready" once the SIGHUP handler is installed and
// "done LINES REOPENS FOLLOWED CREATED_AFTER_WAIT REOPEN_ERRORS RACED_SEQS|-" at the end.
import { AlertFile } from '../../lib/outputs/index.js';

const [file, countArg, intervalArg] = process.argv.slice(2);
const count = Number(countArg);
const intervalMs = Number(intervalArg);
if (!file || !Number.isInteger(count) || count <= 0 || !Number.isFinite(intervalMs)) {
  process.stderr.write('usage: writer-child FILE COUNT INTERVAL_MS\n');
  process.exit(2);
}

// maxBytes 0: logrotate does the rotating here.
const out = new AlertFile(file, { maxBytes: 0 });
out.open();
let reopens = 0;
process.on('SIGHUP', () => {
  out.reopen();
  reopens += 1;
});

const pad = 'p'.repeat(200);
let seq = 0;
/** Alerts whose write(2) overlapped a rename (AlertFile.renameRaces went up during it). */
const raced: number[] = [];
const timer = setInterval(() => {
  const races = out.renameRaces;
  out.write({ seq, event: { id: `alert-${seq}` }, pad });
  if (out.renameRaces !== races) raced.push(seq);
  seq += 1;
  if (seq >= count) {
    clearInterval(timer);
    out.close();
    process.stdout.write(`done ${out.lines} ${reopens} ${out.renamesFollowed} ${out.createdAfterWait} ${out.reopenErrors} ${raced.join(',') || '-'}\n`);
  }
}, intervalMs);
process.stdout.write('ready\n');
