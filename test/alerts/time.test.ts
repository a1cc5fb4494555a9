// isoTime: the text of Date.prototype.toISOString, made without a Date.
import assert from 'node:assert/strict';
import { isoTime } from '../../lib/alerts/index.js';
import { prng } from '../helpers/prng.js';

const iso = (ms: number): string => new Date(ms).toISOString();

describe('alerts/isoTime', () => {
  it('writes what toISOString writes at the edges of days, months, years and leap days', () => {
    const edges = [0, 1, 999, 1000, 59_999, 60_000, 3_599_999, 3_600_000, 86_399_999, 86_400_000,
      Date.UTC(2000, 1, 28, 23, 59, 59, 999), Date.UTC(2000, 1, 29), Date.UTC(2000, 2, 1) - 1, Date.UTC(2000, 2, 1),
      Date.UTC(2100, 1, 28, 12), Date.UTC(2100, 2, 1), Date.UTC(1972, 1, 29, 6), Date.UTC(2023, 11, 31, 23, 59, 59, 999),
      Date.UTC(2024, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    for (const ms of edges) assert.equal(isoTime(ms), iso(ms), String(ms));
  });

  it('writes what toISOString writes for a time of every day from 1970 to 2200, and for 200,000 random times (fractions of a ms cut as Date cuts them)', () => {
    const rand = prng(0x150);
    for (let day = 0; day < 84_000; day++) {
      const ms = day * 86_400_000 + Math.floor(rand() * 86_400_000);
      assert.equal(isoTime(ms), iso(ms), String(ms));
    }
    for (let i = 0; i < 200_000; i++) {
      const ms = rand() * 253_402_300_800_000;
      assert.equal(isoTime(ms), iso(ms), String(ms));
    }
  });

  it('leaves times before 1970 and past 9999 to Date, which throws for NaN as before', () => {
    for (const ms of [-1, -0.5, -86_400_001, Date.UTC(-1, 0, 1), 253_402_300_800_000, 8.64e15]) assert.equal(isoTime(ms), iso(ms), String(ms));
    assert.throws(() => isoTime(Number.NaN), RangeError);
    assert.throws(() => isoTime(8.64e15 + 1), RangeError);
  });
});
