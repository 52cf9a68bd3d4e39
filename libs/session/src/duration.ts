const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
/** Ten years: longer is a typo, and would overflow a Date once added to the clock. */
const MAX_SECONDS = 10 * 365 * 86400;

/** A duration: a number of seconds, or a string such as `900`, `90s`, `15m`, `12h`, `30d`. */
export type Duration = number | string;

/**
 * Parses a {@link Duration} into whole seconds.
 *
 * @example parseDuration('15m') // 900
 * @throws TypeError naming the value when it is not a duration or exceeds ten years.
 */
export function parseDuration(value: Duration, name = 'duration'): number {
  let seconds = Number.NaN;
  if (typeof value === 'number') {
    seconds = Math.floor(value);
  } else if (typeof value === 'string') {
    const match = /^\s*(\d{1,12})\s*([smhd]?)\s*$/.exec(value);
    if (match) seconds = Number(match[1]) * UNIT_SECONDS[match[2] || 's'];
  }
  if (Number.isFinite(seconds) && seconds >= 0 && seconds <= MAX_SECONDS) return seconds;
  throw new TypeError(
    `${name} must be a number of seconds or a string like "900", "15m", "12h" or "30d", at most 10 years; ` +
      `got ${describe(value)}`,
  );
}

/** The value as the message shows it; never throws (an object without a prototype cannot be String()ed). */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return `a value of type ${typeof value}`;
}
