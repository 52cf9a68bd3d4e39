/** Reconnection delay: exponential from 100 ms to 10 s, with full jitter so instances spread out. */
export function backoffDelay(attempt: number): number {
  const ceiling = Math.min(10_000, 100 * 2 ** Math.min(attempt, 10));
  return Math.floor(Math.random() * ceiling) + 50;
}
