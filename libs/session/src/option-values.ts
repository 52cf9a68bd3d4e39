import { parseDuration } from './duration';
import { SessionConfigError } from './errors/session-config-error';

/** A duration option in milliseconds; the default is taken from SESSION_DEFAULTS. */
export function ms(value: unknown, fallback: string | number, name: string): number {
  try {
    return parseDuration((value ?? fallback) as string | number, name) * 1000;
  } catch (error) {
    throw new SessionConfigError((error as Error).message);
  }
}

/** An integer option within its bounds; the default is taken from SESSION_DEFAULTS. */
export function integer(value: unknown, fallback: number, name: string, min: number, max: number): number {
  const n = value ?? fallback;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new SessionConfigError(`${name} must be an integer from ${min.toLocaleString('en')} to ${max.toLocaleString('en')}.`);
  }
  return n;
}
