import { parseDuration } from './duration';

describe('parseDuration', () => {
  it.each<[string | number, number]>([
    [0, 0],
    [1, 1],
    [900, 900],
    [90.9, 90],
    ['0', 0],
    ['900', 900],
    ['90s', 90],
    ['15m', 900],
    ['12h', 43_200],
    ['30d', 2_592_000],
    ['  15m  ', 900],
    ['15 m', 900],
    ['007', 7],
  ])('parses %p as %p seconds', (value, seconds) => {
    expect(parseDuration(value)).toBe(seconds);
  });

  it.each<[string, unknown]>([
    ['a negative number', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['an empty string', ''],
    ['a blank string', '   '],
    ['a negative string', '-5'],
    ['a decimal string', '1.5h'],
    ['an exponent', '1e3'],
    ['an unknown unit', '2w'],
    ['milliseconds', '100ms'],
    ['an upper-case unit', '15M'],
    ['a unit alone', 'm'],
    ['two durations', '1h30m'],
    ['words', 'ten minutes'],
    ['null', null],
    ['a boolean', true],
    ['an object', {}],
  ])('rejects %s with a TypeError naming the option and the value', (_label, value) => {
    let thrown: unknown;
    try {
      parseDuration(value as string | number, 'idleTimeout');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    const message = (thrown as Error).message;
    expect(message).toMatch(/^idleTimeout must be a number of seconds or a string like/);
    const shown = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? 'a value of type object' : String(value);
    expect(message).toContain(`got ${shown}`);
  });

  it.each<[string, unknown]>([
    ['400 nines', '9'.repeat(400)],
    ['eleven years in days', `${11 * 365}d`],
    ['a huge number', 1e300],
  ])('rejects %s as longer than ten years', (_label, value) => {
    expect(() => parseDuration(value as string | number, 'absoluteTimeout')).toThrow(/at most 10 years/);
  });

  it('names the value "duration" when no name is given', () => {
    expect(() => parseDuration('soon')).toThrow(/^duration must be/);
  });
});
