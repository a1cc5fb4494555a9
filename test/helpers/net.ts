// Small network helpers for tests that drive the agent over loopback.
import net from 'node:net';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects to addr:port, sends a line, waits for the reply and the close (bounded 5 s). */
export function connectOnce(addr: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: addr, port }, () => s.write('hello\n'));
    s.on('data', () => s.end());
    s.on('close', () => resolve());
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('timeout')); });
  });
}
