const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A duration: a number of seconds, or a string such as `900`, `90s`, `15m`, `12h`, `30d`. */
export type Duration = number | string;

/**
 * Parses a {@link Duration} into whole seconds.
 *
 * @example parseDuration('15m') // 900
 * @throws TypeError naming the value when it is not a duration.
 */
export function parseDuration(value: Duration, name = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.floor(value);
  } else {
    const match = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(value);
    if (match) return Number(match[1]) * UNIT_SECONDS[match[2] || 's'];
  }
  throw new TypeError(
    `${name} must be a number of seconds or a string like "900", "15m", "12h" or "30d"; got ${JSON.stringify(value)}`,
  );
}
