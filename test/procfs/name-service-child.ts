// Child of name-service.test.ts, run in a private mount namespace whose nsswitch.conf adds a
// directory (libnss-extrausers): starts a process as the directory user, reads it back through
// /proc as the agent does, with and without the name service, and prints one JSON line.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcFs, readProcess } from '../../lib/procfs/index.js';

const uid = Number(process.argv[2]);
const proc = new ProcFs('/proc');
const user = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'sleep', '30'], { stdio: 'ignore' });
const asRoot = spawn('sleep', ['30'], { stdio: 'ignore' });
try {
  // setpriv changes ids, then execs sleep: wait until /proc shows the new uid.
  let info = await readProcess(proc, user.pid as number, { nameService: false });
  for (let i = 0; i < 100 && info?.uid !== uid; i++) {
    await sleep(20);
    info = await readProcess(proc, user.pid as number, { nameService: false });
  }
  const named = await readProcess(proc, user.pid as number);
  const root = await readProcess(proc, asRoot.pid as number);
  process.stdout.write(`${JSON.stringify({ uid: named?.uid, withService: named?.userName ?? null, withoutService: info?.userName ?? null, root: root?.userName ?? null })}\n`);
} finally {
  user.kill('SIGKILL');
  asRoot.kill('SIGKILL');
}
