/**
 * Budget windows: the calendar day or month containing an instant, in a
 * time zone. Derived from the timestamp, so nothing has to reset a budget at
 * midnight; a new day is simply a new window (and a new ledger key).
 * Daylight-saving days are 23 or 25 hours long, as the calendar says.
 *
 * Working a window out takes several `formatToParts` calls (ICU, the
 * costliest step of a guarded request), so the last window of each period and
 * zone is kept: an instant inside it gets it back without any formatting.
 */

/** How long a budget's window is. */
export type BudgetPeriod = "daily" | "monthly";

/** One window. */
export interface BudgetWindow {
  period: BudgetPeriod;
  timeZone: string;
  /** `2026-11-21` (daily) or `2026-11` (monthly), in the time zone. */
  id: string;
  /** First instant of the window (epoch ms). */
  start: number;
  /** First instant after it (epoch ms). */
  end: number;
}

interface LocalDate {
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** Whether `timeZone` is an IANA zone this runtime knows (`UTC`, `Europe/Berlin` …). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of `instant` in `timeZone`. */
function wallClock(instant: number, timeZone: string) {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  return parts as {
    year: number;
    month: number;
    day: number;
    hour: number;
    minute: number;
    second: number;
  };
}

/** How far `timeZone`'s wall clock is ahead of UTC at `instant`, in ms. */
function offsetAt(instant: number, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The first instant whose local date in `timeZone` is `date`. */
function startOfLocalDate(date: LocalDate, timeZone: string): number {
  const midnightAsUtc = Date.UTC(date.year, date.month - 1, date.day);
  // Twice: the offset at the guess may differ from the offset at the answer around a DST switch.
  let start = midnightAsUtc - offsetAt(midnightAsUtc, timeZone);
  start = midnightAsUtc - offsetAt(start, timeZone);
  // Where a DST switch skips midnight itself, the day starts at the first instant that exists.
  const w = wallClock(start, timeZone);
  if (w.year !== date.year || w.month !== date.month || w.day !== date.day) {
    start += Date.UTC(date.year, date.month - 1, date.day) < Date.UTC(w.year, w.month - 1, w.day)
      ? -3_600_000
      : 3_600_000;
  }
  return start;
}

/** The latest window computed per period and zone; a window is a pure function of its instant. */
const recent = new Map<string, Readonly<BudgetWindow>>();
/** A deployment uses a handful of zones; past this many, the memo starts over. */
const MAX_RECENT_WINDOWS = 512;

/**
 * The window of `period` containing `now`, in `timeZone` (frozen: it is
 * shared by every caller inside it). Throws RangeError on an unknown zone.
 */
export function budgetWindow(
  period: BudgetPeriod,
  timeZone: string,
  now: number,
): Readonly<BudgetWindow> {
  const key = `${period} ${timeZone}`;
  const last = recent.get(key);
  if (last && now >= last.start && now < last.end) return last;
  const window = Object.freeze(computeWindow(period, timeZone, now));
  if (recent.size >= MAX_RECENT_WINDOWS) recent.clear();
  recent.set(key, window);
  return window;
}

function computeWindow(period: BudgetPeriod, timeZone: string, now: number): BudgetWindow {
  const w = wallClock(now, timeZone);
  const pad = (n: number) => String(n).padStart(2, "0");
  if (period === "daily") {
    // Date.UTC normalizes day 32 into the next month, and so on.
    const next = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
    return {
      period,
      timeZone,
      id: `${w.year}-${pad(w.month)}-${pad(w.day)}`,
      start: startOfLocalDate(w, timeZone),
      end: startOfLocalDate({
        year: next.getUTCFullYear(),
        month: next.getUTCMonth() + 1,
        day: next.getUTCDate(),
      }, timeZone),
    };
  }
  const next = new Date(Date.UTC(w.year, w.month, 1));
  return {
    period,
    timeZone,
    id: `${w.year}-${pad(w.month)}`,
    start: startOfLocalDate({ year: w.year, month: w.month, day: 1 }, timeZone),
    end: startOfLocalDate({
      year: next.getUTCFullYear(),
      month: next.getUTCMonth() + 1,
      day: 1,
    }, timeZone),
  };
}
