import { DpopNonces } from './dpop-nonce';

const KEY = Buffer.alloc(32, 9);
const T0 = Date.UTC(2026, 11, 7, 12, 0, 30);

describe('DpopNonces', () => {
  const nonces = new DpopNonces(KEY);

  it('a nonce is good in its minute and the next, and stale after', () => {
    const nonce = nonces.current(T0);
    expect(nonces.isValid(nonce, T0)).toBe(true);
    expect(nonces.isValid(nonce, T0 + 60_000)).toBe(true);
    expect(nonces.isValid(nonce, T0 + 120_000)).toBe(false);
    expect(nonces.isValid(nonce, T0 - 60_000)).toBe(false);
  });

  it('refuses a nonce of another key, an edited one, and what is not a nonce', () => {
    const nonce = nonces.current(T0);
    expect(new DpopNonces(Buffer.alloc(32, 8)).isValid(nonce, T0)).toBe(false);
    const [step, mac] = nonce.split('.');
    expect(nonces.isValid(`${(Number.parseInt(step, 36) + 1).toString(36)}.${mac}`, T0 + 60_000)).toBe(false);
    for (const bad of [undefined, 42, '', '.', 'x'.repeat(65), `${step}.`, `.${mac}`]) expect(nonces.isValid(bad, T0)).toBe(false);
  });
});
