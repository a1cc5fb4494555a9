// A child program of ring.test.ts, run inside its network namespace: opens a live capture on
// `any` as the agent does (immediate mode, the agent's filter), then holds its event loop while
// a child process sends a burst of UDP datagrams to documentation addresses, as a garbage
// collection or a slow disk can hold the agent's. Prints one JSON line: how many packets came
// through and how many the kernel dropped.
// argv: <buffer bytes> <snap length> <datagrams>
import { spawn } from 'node:child_process';
import { LiveCapture, buildBpfFilter } from '../../lib/capture/index.js';

const [bufferArg, snapArg, countArg] = process.argv.slice(2);
const count = Number(countArg);
let got = 0;
const capture = LiveCapture.open({ interfaces: ['any'], filter: buildBpfFilter([53]), bufferBytes: Number(bufferArg), snapLength: Number(snapArg), immediate: true },
  () => { got++; });
await new Promise((r) => setTimeout(r, 300));
const sender = spawn('python3', ['-c', `
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(${count}):
    s.sendto(b'x' * 32, ('2001:db8:2::%x:%x' % (i >> 16, i & 0xffff), 443))
`], { stdio: 'inherit' });
const exited = new Promise<number | null>((r) => sender.on('exit', (code) => r(code)));
// Busy, the event loop held, until well after the burst (python sends it in ~0.1 s).
const until = Date.now() + 3000;
while (Date.now() < until) { /* the agent is busy */ }
const senderExit = await exited;
await new Promise((r) => setTimeout(r, 1000));
const st = capture.stats()[0];
capture.close();
process.stdout.write(JSON.stringify({ sent: count, senderExit, got, dropped: st.dropped }) + '\n');
process.exit(0);
