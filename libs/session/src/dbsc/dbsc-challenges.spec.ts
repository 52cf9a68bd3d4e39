import { DbscChallenges } from './dbsc-challenges';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const SID = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';

describe('DbscChallenges', () => {
  const challenges = new DbscChallenges(Buffer.alloc(32, 7), 15 * 60_000, 120_000);
  const refresh = (generation: number, sessionId = SID) => ({ purpose: 'refresh' as const, sessionId, generation });
  const register = (sessionId = SID) => ({ purpose: 'register' as const, sessionId });

  it('a refresh challenge names one session and one generation, and is good for its window', () => {
    const challenge = challenges.make(refresh(3), T0);
    expect(challenges.isValid(challenge, refresh(3), T0 + 15 * 60_000)).toBe(true);
    expect(challenges.isValid(challenge, refresh(3), T0 + 15 * 60_000 + 1_000)).toBe(false);
    expect(challenges.isValid(challenge, refresh(4), T0)).toBe(false);
    expect(challenges.isValid(challenge, refresh(3, OTHER), T0)).toBe(false);
  });

  it('a registration challenge is good for two minutes, and no challenge serves the other purpose', () => {
    const registration = challenges.make(register(), T0);
    expect(challenges.isValid(registration, register(), T0 + 120_000)).toBe(true);
    expect(challenges.isValid(registration, register(), T0 + 121_000)).toBe(false);
    expect(challenges.isValid(registration, refresh(0), T0)).toBe(false);
    expect(challenges.isValid(challenges.make(refresh(0), T0), register(), T0)).toBe(false);
  });

  it('refuses another key\'s challenge, one from the future, and what is not a challenge', () => {
    expect(new DbscChallenges(Buffer.alloc(32, 6), 60_000, 60_000).isValid(challenges.make(refresh(0), T0), refresh(0), T0)).toBe(false);
    expect(challenges.isValid(challenges.make(refresh(0), T0 + 60_000), refresh(0), T0)).toBe(false);
    for (const bad of [undefined, '', 'abc', 'x'.repeat(65), '.AAAA']) expect(challenges.isValid(bad, refresh(0), T0)).toBe(false);
  });
});
