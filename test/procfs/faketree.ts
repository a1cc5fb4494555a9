// A /proc tree in a temp dir: net files, PID dirs with fd symlinks "socket:[N]", stat, status,
// cmdline, exe and cwd links. Symlinks may dangle: readlink does not follow them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface FakePid {
  comm: string;
  ppid: number;
  uid: number;
  euid?: number;
  argv: string[];
  exe?: string;
  cwd?: string;
  startTicks?: number;
  sockets?: number[];
  /** /proc/PID/loginuid's text; no file when undefined (a kernel without audit). */
  loginuid?: string;
}

export const BTIME = 1_700_000_000;

export class FakeProc {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-fakeproc-'));

  constructor() {
    fs.mkdirSync(path.join(this.root, 'net'));
    fs.writeFileSync(path.join(this.root, 'stat'), `cpu  1 2 3 4\nintr 0\nctxt 12\nbtime ${BTIME}\nprocesses 3\n`);
  }

  writeNet(name: string, text: string): void {
    fs.writeFileSync(path.join(this.root, 'net', name), text);
  }

  addPid(pid: number, p: FakePid): void {
    const dir = path.join(this.root, String(pid));
    fs.mkdirSync(path.join(dir, 'fd'), { recursive: true });
    // Fields 3.. of stat(5); starttime is field 22.
    const after = ['S', String(p.ppid), String(pid), String(pid), '0', '-1', '4194560', ...Array(12).fill('0'), String(p.startTicks ?? 0), ...Array(30).fill('0')];
    fs.writeFileSync(path.join(dir, 'stat'), `${pid} (${p.comm}) ${after.join(' ')}\n`);
    const euid = p.euid ?? p.uid;
    fs.writeFileSync(path.join(dir, 'status'), `Name:\t${p.comm}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t${pid}\nPid:\t${pid}\nPPid:\t${p.ppid}\nUid:\t${p.uid}\t${euid}\t${euid}\t${euid}\nGid:\t0\t0\t0\t0\n`);
    fs.writeFileSync(path.join(dir, 'cmdline'), p.argv.map((a) => `${a}\0`).join(''));
    if (p.loginuid !== undefined) fs.writeFileSync(path.join(dir, 'loginuid'), p.loginuid);
    if (p.exe) fs.symlinkSync(p.exe, path.join(dir, 'exe'));
    if (p.cwd) fs.symlinkSync(p.cwd, path.join(dir, 'cwd'));
    fs.symlinkSync('/dev/null', path.join(dir, 'fd', '0'));
    fs.symlinkSync('pipe:[999]', path.join(dir, 'fd', '1'));
    (p.sockets ?? []).forEach((inode, i) => this.addSocket(pid, 3 + i, inode));
  }

  addSocket(pid: number, fd: number, inode: number): void {
    fs.symlinkSync(`socket:[${inode}]`, path.join(this.root, String(pid), 'fd', String(fd)));
  }

  closeFd(pid: number, fd: number): void {
    fs.rmSync(path.join(this.root, String(pid), 'fd', String(fd)));
  }

  removePid(pid: number): void {
    fs.rmSync(path.join(this.root, String(pid)), { recursive: true, force: true });
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
