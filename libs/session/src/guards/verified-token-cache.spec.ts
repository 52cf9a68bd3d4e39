import type { AccessClaims } from '../tokens/access-claims';
import { VerifiedToken, VerifiedTokenCache } from './verified-token-cache';

// The cache of verified tokens in front of the verifier: what an entry keeps, the second-chance
// eviction, expired entries leaving first, and the shared role lists.

const NOW_S = 1_800_000_000;

function claims(n: number, overrides: Partial<AccessClaims> = {}): AccessClaims {
  return {
    iss: 'i',
    aud: 'a',
    sub: `user-${n}`,
    sid: `sid-${n}`,
    jti: `jti-${n}`,
    iat: NOW_S,
    exp: NOW_S + 600,
    roles: ['reader'],
    auth_time: NOW_S - 30,
    ...overrides,
  };
}

beforeEach(() => jest.spyOn(Date, 'now').mockReturnValue(NOW_S * 1000));
afterEach(() => jest.restoreAllMocks());

describe('VerifiedToken.of', () => {
  it('keeps sid, sub, the user id in the app’s type, roles, exp and auth_time in ms', () => {
    const entry = VerifiedToken.of(claims(1, { uid: 42, sub: '42' }));
    expect(entry).toEqual(Object.assign(Object.create(VerifiedToken.prototype), { hit: false, sid: 'sid-1', sub: '42', userId: 42, roles: ['reader'], exp: NOW_S + 600, authenticatedAtMs: (NOW_S - 30) * 1000, jkt: null }));
  });

  it('keeps the DPoP key thumbprint of a bound token (cnf.jkt), so a cache hit still asks for a proof of that key', () => {
    const jkt = 'x'.repeat(43);
    expect(VerifiedToken.of(claims(1, { cnf: { jkt } })).jkt).toBe(jkt);
  });

  it('falls back to sub, and null without auth_time', () => {
    const entry = VerifiedToken.of(claims(2, { auth_time: undefined }));
    expect(entry.userId).toBe('user-2');
    expect(entry.authenticatedAtMs).toBeNull();
  });
});

describe('VerifiedTokenCache', () => {
  it('answers a token it was given, and nothing else', () => {
    const cache = new VerifiedTokenCache(10, 5);
    const entry = cache.set('t1', claims(1));
    expect(cache.get('t1')).toBe(entry);
    expect(cache.get('t2')).toBeUndefined();
    expect(entry.hit).toBe(true);
  });

  it('holds at most max entries: a full cache evicts the oldest unused entry', () => {
    const cache = new VerifiedTokenCache(2, 5);
    cache.set('t1', claims(1));
    cache.set('t2', claims(2));
    cache.set('t3', claims(3));
    expect(cache.get('t1')).toBeUndefined();
    expect(cache.get('t2')).toBeDefined();
    expect(cache.get('t3')).toBeDefined();
  });

  it('gives a token in use a second chance: the one-off token leaves first', () => {
    const cache = new VerifiedTokenCache(2, 5);
    cache.set('busy', claims(1));
    cache.set('once', claims(2));
    cache.get('busy');
    cache.set('new', claims(3));
    expect(cache.get('busy')).toBeDefined();
    expect(cache.get('once')).toBeUndefined();
    expect(cache.get('new')).toBeDefined();
  });

  it('a second chance is spent: unused since, the token leaves on the next round', () => {
    const cache = new VerifiedTokenCache(2, 5);
    cache.set('a', claims(1));
    cache.set('b', claims(2));
    cache.get('a'); // a: hit
    cache.set('c', claims(3)); // a spared (flag cleared), b out
    cache.get('c'); // c: hit; a not used since
    cache.set('d', claims(4)); // a out
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.get('d')).toBeDefined();
  });

  it('an expired entry leaves first even when it was used', () => {
    const cache = new VerifiedTokenCache(2, 5);
    cache.set('stale', claims(1, { exp: NOW_S - 6 }));
    cache.set('fresh', claims(2));
    cache.get('stale');
    cache.get('fresh');
    cache.set('new', claims(3));
    expect(cache.get('stale')).toBeUndefined();
    expect(cache.get('fresh')).toBeDefined();
  });

  it('an entry within the skew of exp is not yet expired: its second chance holds', () => {
    const cache = new VerifiedTokenCache(2, 5);
    cache.set('edge', claims(1, { exp: NOW_S - 4 }));
    cache.set('other', claims(2));
    cache.get('edge');
    cache.set('new', claims(3));
    expect(cache.get('edge')).toBeDefined();
    expect(cache.get('other')).toBeUndefined();
  });

  it('setting a token it holds replaces the entry without evicting anything', () => {
    const cache = new VerifiedTokenCache(2, 5);
    cache.set('a', claims(1));
    cache.set('b', claims(2));
    const again = cache.set('a', claims(1, { roles: ['admin'] }));
    expect(cache.get('a')).toBe(again);
    expect(cache.get('a')!.roles).toEqual(['admin']);
    expect(cache.get('b')).toBeDefined();
  });

  it('shares one frozen role list between tokens with the same roles', () => {
    const cache = new VerifiedTokenCache(10, 5);
    const a = cache.set('a', claims(1, { roles: ['x', 'y'] }));
    const b = cache.set('b', claims(2, { roles: ['x', 'y'] }));
    const c = cache.set('c', claims(3, { roles: ['y', 'x'] }));
    expect(a.roles).toBe(b.roles);
    expect(a.roles).not.toBe(c.roles);
    expect(Object.isFrozen(a.roles)).toBe(true);
  });

  it('past 1,024 distinct role lists, further lists are kept apiece (still frozen, still right)', () => {
    const cache = new VerifiedTokenCache(5_000, 5);
    for (let i = 0; i < 1_024; i++) cache.set(`t${i}`, claims(i, { roles: [`r${i}`] }));
    const first = cache.set('late-1', claims(1, { roles: ['late'] }));
    const second = cache.set('late-2', claims(2, { roles: ['late'] }));
    expect(first.roles).toEqual(['late']);
    expect(first.roles).not.toBe(second.roles);
    expect(Object.isFrozen(first.roles)).toBe(true);
    // A list interned before the bound is still shared.
    expect(cache.set('again', claims(3, { roles: ['r7'] })).roles).toBe(cache.get('t7')!.roles);
  });

  it('keys by a copy of the token, equal in content', () => {
    const cache = new VerifiedTokenCache(10, 5);
    const header = 'a=1; ns-at=tok; b=2';
    const token = header.slice(header.indexOf('tok'), header.indexOf('tok') + 3);
    cache.set(token, claims(1));
    expect(cache.get('tok')).toBeDefined();
  });
});
