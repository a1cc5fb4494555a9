// Alert times as text: what Date.prototype.toISOString gives ("2023-11-14T22:13:20.001Z"), made
// without a Date. V8's own formatting costs ~1.3 µs a call here (measured: 1.26-1.40 µs), an
// alert has four to six times in it, and under a flood of new destinations (a scan replayed,
// 100,000 alerts) that was 8% of the whole replay's CPU. The date from the day number is Howard
// Hinnant's days_from_civil inverse (proleptic Gregorian, as ECMAScript's time values are); the
// last day's "YYYY-MM-DDT" is kept, since an alert's times and the alerts around it share it.

/** 9999-12-31T23:59:59.999Z + 1 ms: from here on toISOString writes six-digit years. */
const FOUR_DIGIT_YEARS_END = 253402300800000;
const MS_PER_DAY = 86_400_000;

let memoDay = -1;
let memoDate = '';

/**
 * `ms` (since the epoch, UTC; a fraction is cut off as Date cuts it) as toISOString writes it.
 * Times before 1970 or past the year 9999, and NaN, are left to Date (which throws for NaN, as
 * before).
 */
export function isoTime(ms: number): string {
  const t = Math.trunc(ms);
  if (!(t >= 0 && t < FOUR_DIGIT_YEARS_END)) return new Date(ms).toISOString();
  const day = Math.floor(t / MS_PER_DAY);
  if (day !== memoDay) {
    memoDate = civilDate(day);
    memoDay = day;
  }
  let rest = t - day * MS_PER_DAY;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const milli = rest - s * 1000;
  return `${memoDate}${two(h)}:${two(m)}:${two(s)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** "YYYY-MM-DDT" of day `days` since 1970-01-01 (0 <= days, year <= 9999). */
function civilDate(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${two(month)}-${two(d)}T`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}
