import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const CLIENT = join('libs', 'session', 'client', 'session-client.mjs');

/**
 * The library's browser client (`nest-sessions/client`), served to the page as written. In this
 * monorepo it lives in libs/session/client; an app that installed the package would read
 * `require.resolve('nest-sessions/client')` instead (or bundle it).
 */
export function readSessionClient(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, CLIENT);
    if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
    if (dirname(dir) === dir) throw new Error(`nest-sessions sample: ${CLIENT} not found above ${from}`);
  }
}
