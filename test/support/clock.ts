/**
 * Fakes `Date` only (timers, I/O and the database driver run normally), so a test can move the
 * server's clock by hours without sleeping. Every expiry decision is taken on this clock.
 */
export function useFakeDate(start = Date.now()): { advance(ms: number): void; restore(): void } {
  jest.useFakeTimers({
    doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'],
    now: start,
  });
  let now = start;
  return {
    advance(ms: number) {
      now += ms;
      jest.setSystemTime(now);
    },
    restore: () => jest.useRealTimers(),
  };
}
