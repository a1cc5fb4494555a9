import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ProcFs } from '../../lib/procfs/index.js';
import { BTIME, FakeProc } from './faketree.js';

describe('procfs/ProcFs rooted reader', () => {
  let tree: FakeProc;
  beforeEach(() => {
    tree = new FakeProc();
    tree.addPid(7, { comm: 'x', ppid: 1, uid: 0, argv: ['x'], exe: '/bin/x' });
    fs.writeFileSync(path.join(tree.root, 'notes'), 'hello');
  });
  afterEach(() => tree.cleanup());

  it('reads text, links and listings relative to its root', async () => {
    const proc = new ProcFs(tree.root);
    assert.equal(await proc.readText('notes'), 'hello');
    assert.equal(await proc.readLink('7/exe'), '/bin/x');
    assert.deepEqual((await proc.list('7/fd'))?.sort(), ['0', '1']);
    assert.deepEqual(await proc.listPids(), [7]);
    assert.equal(await proc.bootTimeSeconds(), BTIME);
  });

  it('answers undefined, never throws, for missing, non-directory and non-link paths', async () => {
    const proc = new ProcFs(tree.root);
    assert.equal(await proc.readText('8/stat'), undefined); // ENOENT
    assert.equal(await proc.list('notes/fd'), undefined); // ENOTDIR
    assert.equal(await proc.readLink('notes'), undefined); // EINVAL
    assert.equal(await proc.readText('notes/x'), undefined); // ENOTDIR
    const gone = new ProcFs(path.join(tree.root, 'nope'));
    assert.deepEqual(await gone.listPids(), []);
    assert.equal(await gone.bootTimeSeconds(), undefined);
  });

  it('rethrows errors that are not "gone" (reading a directory is EISDIR)', async () => {
    await assert.rejects(new ProcFs(tree.root).readText('7'), { code: 'EISDIR' });
  });

  it('reads the real /proc the same way (size-0 files read to EOF)', async function () {
    if (!fs.existsSync('/proc/self/stat')) this.skip();
    const proc = new ProcFs('/proc');
    assert.match((await proc.readText(`${process.pid}/stat`)) ?? '', new RegExp(`^${process.pid} \\(`));
    assert.ok(((await proc.readText('net/tcp')) ?? '').startsWith('  sl'));
  });
});
