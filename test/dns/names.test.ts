// NameTable's shortcut for a name that is only a compression pointer to where a kept name's
// read began: it is taken for that name without a read only where a read would give the same
// outcome. The parser reads names in message order, so the kept name always lies before the
// pointer and within its limit there; these cases, built by hand, are the ones where it does
// not, and a read's verdict must stand.
import assert from 'node:assert/strict';
import { E_BAD_POINTER, E_TRUNCATED, NameTable } from '../../lib/dns/names.js';

function label(buf: Buffer, at: number, text: string): number {
  buf[at] = text.length;
  buf.write(text, at + 1, 'latin1');
  return at + 1 + text.length;
}

describe('dns/NameTable: a name that only points to a kept name', () => {
  it('is that name: the same id, and the offset after the pointer', () => {
    const buf = Buffer.alloc(64);
    buf[label(buf, label(buf, 12, 'www'), 'example')] = 0;
    const names = new NameTable();
    assert.equal(names.read(buf, 0, 12, 64), 25);
    const id = names.add();
    buf[30] = 0xc0;
    buf[31] = 12;
    assert.equal(names.read(buf, 0, 30, 64), 32);
    assert.equal(names.add(), id);
    assert.equal(names.string(id), 'www.example');
    // A name read into the arena after it is a name of its own.
    buf[label(buf, 40, 'cdn')] = 0;
    assert.equal(names.read(buf, 0, 40, 64), 45);
    assert.notEqual(names.add(), id);
  });

  it('is read as any name when the kept one reaches past this read\'s limit', () => {
    // A kept name of one 40-byte label at 0; a pointer to it at 10, inside that label, read
    // with a limit of 12: a read stops at the label's end (truncated).
    const buf = Buffer.alloc(64, 0x61);
    buf[0] = 40;
    buf[10] = 0xc0;
    buf[11] = 0x00;
    buf[41] = 0;
    const names = new NameTable();
    assert.equal(names.read(buf, 0, 0, 64), 42);
    names.add();
    assert.equal(names.read(buf, 0, 10, 12), E_TRUNCATED);
  });

  it('is a bad pointer when it points forward, to a name kept before it was read', () => {
    const buf = Buffer.alloc(64);
    buf[label(buf, 30, 'abc')] = 0;
    const names = new NameTable();
    assert.equal(names.read(buf, 0, 30, 64), 35);
    names.add();
    buf[20] = 0xc0;
    buf[21] = 30;
    assert.equal(names.read(buf, 0, 20, 64), E_BAD_POINTER);
  });

  it('a name dropped is no longer kept: a pointer to it reads it again, not the name kept after it', () => {
    const buf = Buffer.alloc(64);
    buf[label(buf, 12, 'first')] = 0;
    buf[label(buf, 30, 'second')] = 0;
    const names = new NameTable();
    names.read(buf, 0, 12, 64);
    const dropped = names.add();
    names.drop();
    names.read(buf, 0, 30, 64);
    const second = names.add();
    assert.equal(second, dropped, 'the id is given again');
    buf[40] = 0xc0;
    buf[41] = 12;
    assert.equal(names.read(buf, 0, 40, 64), 42);
    const again = names.add();
    assert.notEqual(again, second);
    assert.equal(names.string(again), 'first');
    assert.equal(names.string(second), 'second');
  });

  it('a name dropped after it was taken again stays kept', () => {
    const buf = Buffer.alloc(64);
    buf[label(buf, 12, 'q')] = 0;
    const names = new NameTable();
    names.read(buf, 0, 12, 64);
    const q = names.add();
    buf[20] = 0xc0;
    buf[21] = 12;
    names.read(buf, 0, 20, 64);
    assert.equal(names.add(), q);
    names.drop();
    // Still kept: named again by a pointer, and its text unchanged by a name read after it.
    buf[label(buf, 30, 'other')] = 0;
    names.read(buf, 0, 30, 64);
    const other = names.add();
    assert.notEqual(other, q);
    assert.equal(names.string(q), 'q');
    assert.equal(names.string(other), 'other');
    names.read(buf, 0, 20, 64);
    assert.equal(names.add(), q);
  });
});
