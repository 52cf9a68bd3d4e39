import { SessionConfigError } from './errors/session-config-error';

/**
 * Loads an optional peer dependency when a feature needs it, so the library starts without the
 * packages an app does not use. Missing, it says what to install and why.
 */
export function requireOptionalPeer<T>(name: string, neededFor: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch (error) {
    if ((error as { code?: unknown })?.code !== 'MODULE_NOT_FOUND' && (error as { code?: unknown })?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new SessionConfigError(`${neededFor} needs the package "${name}": npm install ${name}`);
  }
}

/** The peer if it is installed, else null (for features that are simply off without it). */
export function optionalPeer<T>(name: string): T | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch {
    return null;
  }
}
