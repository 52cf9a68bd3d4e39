import { DbscChallenges } from './dbsc-challenges';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const SID = '11111111-1111-4111-8111-111111111111';

describe('DbscChallenges', () => {
  const challenges = new DbscChallenges(Buffer.alloc(32, 7), 15 * 60_000);

  it('a challenge names one session and is good for its window', () => {
    const challenge = challenges.make(SID, T0);
    expect(challenges.isValid(challenge, SID, T0 + 15 * 60_000)).toBe(true);
    expect(challenges.isValid(challenge, SID, T0 + 15 * 60_000 + 1_000)).toBe(false);
    expect(challenges.isValid(challenge, '22222222-2222-4222-8222-222222222222', T0)).toBe(false);
  });

  it('refuses another key\'s challenge, one from the future, and what is not a challenge', () => {
    expect(new DbscChallenges(Buffer.alloc(32, 6), 60_000).isValid(challenges.make(SID, T0), SID, T0)).toBe(false);
    expect(challenges.isValid(challenges.make(SID, T0 + 60_000), SID, T0)).toBe(false);
    for (const bad of [undefined, '', 'abc', 'x'.repeat(65), '.AAAA']) expect(challenges.isValid(bad, SID, T0)).toBe(false);
  });
});
