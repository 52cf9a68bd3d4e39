import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';

const REPORTS = join(__dirname, '..', '..', 'test-output', 'reports');

/**
 * A measurement a test wants kept (a delay, a tally): written to
 * `test-output/reports/<spec>.txt`, and printed only with `NS_TEST_VERBOSE=1`, so that a green
 * `npm test` prints the Jest summary and nothing else.
 */
export function report(line: string): void {
  mkdirSync(REPORTS, { recursive: true });
  const spec = basename(expect.getState().testPath ?? 'unknown').replace(/\.ts$/, '');
  appendFileSync(join(REPORTS, `${spec}.txt`), `${new Date().toISOString()} ${line}\n`);
  if (process.env.NS_TEST_VERBOSE === '1') process.stdout.write(`${line}\n`);
}
