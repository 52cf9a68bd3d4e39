import { AccessTokenExpiredError, UnauthenticatedError } from '../errors/session-error';
import { resolveSessionOptions } from '../resolve-options';
import { checkClaims, hasCanonicalSignature, isIssuedForUs, isWellFormedJwt, readHeader, verifyOptionsFor, type DecodedJwt } from './access-claims';

// The claim rules on their own, after a signature has verified: one row per rule and boundary,
// on a frozen clock (the skew is 5 s).

const options = resolveSessionOptions(
  { jwtSecret: 'j'.repeat(20) + 'Kx9pQ2vL7mZ4tR8wY3nB6cF1', sessionSecret: 's'.repeat(20) + 'Hq5jW8eT2yU6iO9pA3sD7fG4', loadUser: () => null, clockSkew: 5 },
  {},
  { NODE_ENV: 'test' },
);
const NOW_S = 1_800_000_000;
const NOW = NOW_S * 1000;
const SID = '11111111-1111-4111-8111-111111111111';
const HEADER = { alg: 'HS256', typ: 'at+jwt' };
const PAYLOAD = { iss: 'nest-sessions', aud: 'nest-sessions', sub: 'u1', sid: SID, jti: 'j1', iat: NOW_S, exp: NOW_S + 600, roles: ['r'], auth_time: NOW_S - 10 };

function verdict(payload: unknown, header: Record<string, unknown> = HEADER, nowMs = NOW, allowExpired?: boolean): string {
  try {
    const claims = checkClaims(options, { header, payload } as DecodedJwt, nowMs, allowExpired);
    return `ok ${JSON.stringify(claims.roles)}`;
  } catch (error) {
    if (error instanceof AccessTokenExpiredError) return 'EXPIRED';
    if (error instanceof UnauthenticatedError) return 'UNAUTHENTICATED';
    return `thrown ${(error as Error).message}`;
  }
}
const withPayload = (changes: Record<string, unknown>) => ({ ...PAYLOAD, ...changes });
const without = (name: string) => Object.fromEntries(Object.entries(PAYLOAD).filter(([k]) => k !== name));

describe('checkClaims', () => {
  it('accepts the token as issued, and returns its roles', () => {
    expect(verdict(PAYLOAD)).toBe('ok ["r"]');
    expect(verdict(without('roles'))).toBe('ok []');
    expect(verdict(PAYLOAD, { alg: 'HS256', typ: 'application/at+jwt' })).toBe('ok ["r"]');
  });

  it.each<[string, unknown]>([
    ['a string payload', 'just text'],
    ['a null payload', null],
  ])('refuses %s', (_name, payload) => {
    expect(verdict(payload)).toBe('UNAUTHENTICATED');
  });

  it.each<[string, Record<string, unknown>]>([
    ['typ JWT', { alg: 'HS256', typ: 'JWT' }],
    ['no typ', { alg: 'HS256' }],
    ['a crit header', { ...HEADER, crit: ['b64'] }],
    ['another algorithm', { alg: 'HS384', typ: 'at+jwt' }],
    ['a kid no key has', { ...HEADER, kid: 'other' }],
  ])('refuses a header with %s', (_name, header) => {
    expect(verdict(PAYLOAD, header)).toBe('UNAUTHENTICATED');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['sub of 256 characters', { sub: 'x'.repeat(256) }, 'ok'],
    ['sub of 257 characters', { sub: 'x'.repeat(257) }, 'UNAUTHENTICATED'],
    ['an empty sub', { sub: '' }, 'UNAUTHENTICATED'],
    ['a numeric sub', { sub: 42 }, 'UNAUTHENTICATED'],
    ['uid matching sub', { sub: '42', uid: 42 }, 'ok'],
    ['uid not matching sub', { sub: '42', uid: 43 }, 'UNAUTHENTICATED'],
    ['uid as a string', { sub: '42', uid: '42' }, 'UNAUTHENTICATED'],
    ['uid beyond safe integers', { sub: '9007199254740993', uid: 9007199254740993 }, 'UNAUTHENTICATED'],
    ['a fractional uid', { sub: '4.5', uid: 4.5 }, 'UNAUTHENTICATED'],
    ['a sid that is not a session id', { sid: 'abc' }, 'UNAUTHENTICATED'],
    ['an empty jti', { jti: '' }, 'UNAUTHENTICATED'],
    ['a numeric jti', { jti: 7 }, 'UNAUTHENTICATED'],
    ['iat as a string', { iat: String(NOW_S) }, 'UNAUTHENTICATED'],
    ['exp as a string', { exp: String(NOW_S + 600) }, 'UNAUTHENTICATED'],
    ['an infinite iat', { iat: -Infinity }, 'UNAUTHENTICATED'],
    ['a NaN exp', { exp: NaN }, 'UNAUTHENTICATED'],
    ['an infinite exp', { exp: Infinity }, 'UNAUTHENTICATED'],
    ['roles that are not strings', { roles: ['a', 1] }, 'UNAUTHENTICATED'],
    ['roles that are not a list', { roles: 'admin' }, 'UNAUTHENTICATED'],
    ['iat at now + skew', { iat: NOW_S + 5 }, 'ok'],
    ['iat past now + skew', { iat: NOW_S + 5.001 }, 'UNAUTHENTICATED'],
    ['nbf at now + skew', { nbf: NOW_S + 5 }, 'ok'],
    ['nbf past now + skew', { nbf: NOW_S + 6 }, 'UNAUTHENTICATED'],
    ['nbf as a string', { nbf: String(NOW_S) }, 'UNAUTHENTICATED'],
    ['auth_time at now + skew', { auth_time: NOW_S + 5 }, 'ok'],
    ['auth_time past now + skew', { auth_time: NOW_S + 6 }, 'UNAUTHENTICATED'],
    ['auth_time as a string', { auth_time: String(NOW_S) }, 'UNAUTHENTICATED'],
    ['a NaN auth_time', { auth_time: NaN }, 'UNAUTHENTICATED'],
    ['exp just inside exp + skew', { exp: NOW_S - 4 }, 'ok'],
    ['exp at exp + skew', { exp: NOW_S - 5 }, 'EXPIRED'],
  ])('%s', (_name, changes, expected) => {
    expect(verdict(withPayload(changes)).replace(/ .*/, '')).toBe(expected);
  });

  it.each(['sub', 'sid', 'jti', 'iat', 'exp'])('refuses a token without %s', (name) => {
    expect(verdict(without(name))).toBe('UNAUTHENTICATED');
  });

  it('an expired token is refused unless allowExpired, and only then returned', () => {
    const expired = withPayload({ iat: NOW_S - 3600, exp: NOW_S - 60 });
    expect(verdict(expired)).toBe('EXPIRED');
    expect(verdict(expired, HEADER, NOW, false)).toBe('EXPIRED');
    expect(verdict(expired, HEADER, NOW, true)).toBe('ok ["r"]');
    // allowExpired does not excuse anything else.
    expect(verdict({ ...expired, jti: '' }, HEADER, NOW, true)).toBe('UNAUTHENTICATED');
  });
});

describe('the shape checks before any crypto', () => {
  it.each<[string, boolean]>([
    ['a.b.c', true],
    ['a.b', false],
    ['a.b.c.d', false],
    ['.b.c', false],
    ['!a.b.c', false],
    ['a.b.c!', false],
    ['a.b.c\n', false],
    ['a b.c.d', false],
    [`a.${'b'.repeat(4096)}.c`, false],
  ])('%j well formed: %s', (token, expected) => {
    expect(isWellFormedJwt(token)).toBe(expected);
  });

  it('the signature has one spelling', () => {
    const sig = Buffer.from('sig-bytes!').toString('base64url'); // ends in a character with unused bits
    expect(hasCanonicalSignature(`a.b.${sig}`)).toBe(true);
    const last = sig.at(-1)!;
    const other = String.fromCharCode(last.charCodeAt(0) + 1);
    expect(hasCanonicalSignature(`a.b.${sig.slice(0, -1)}${other}`)).toBe(false);
  });

  it.each<[string, unknown]>([
    ['an object', { alg: 'HS256' }],
    ['null', null],
    ['an array', ['HS256']],
    ['a number', 7],
    ['a string', 'HS256'],
  ])('readHeader: %s', (name, value) => {
    const token = `${Buffer.from(JSON.stringify(value)).toString('base64url')}.e30.c2ln`;
    expect(readHeader(token)).toEqual(name === 'an object' ? value : null);
  });

  it('readHeader: not JSON at all', () => {
    expect(readHeader(`${Buffer.from('{nope').toString('base64url')}.e30.c2ln`)).toBeNull();
  });
});

describe('isIssuedForUs (iss and aud for the tokens jsonwebtoken does not verify)', () => {
  const ours = { issuer: 'me', audience: 'app' };
  it.each<[string, unknown, boolean]>([
    ['ours', { iss: 'me', aud: 'app' }, true],
    ['ours, with a list of audiences', { iss: 'me', aud: ['other', 'app'] }, true],
    ['another audience', { iss: 'me', aud: 'other' }, false],
    ['a list without ours', { iss: 'me', aud: ['other'] }, false],
    ['no audience', { iss: 'me' }, false],
    ['an audience string containing ours', { iss: 'me', aud: 'xappx' }, false],
    ['another issuer', { iss: 'you', aud: 'app' }, false],
    ['null', null, false],
    ['an array', [{ iss: 'me', aud: 'app' }], false],
    ['a string', 'me', false],
  ])('%s: %s', (_name, payload, expected) => {
    expect(isIssuedForUs(payload, ours)).toBe(expected);
  });
});

describe('verifyOptionsFor', () => {
  it('tells jsonwebtoken the configured algorithms but EdDSA, the issuer and audience, and no time checks', () => {
    const keys = { ...options.keys, algorithms: ['EdDSA', 'ES256', 'HS256'] as const };
    expect(verifyOptionsFor({ ...options, keys: keys as unknown as typeof options.keys })).toEqual({
      algorithms: ['ES256', 'HS256'],
      issuer: 'nest-sessions',
      audience: 'nest-sessions',
      ignoreExpiration: true,
      ignoreNotBefore: true,
      complete: true,
    });
  });
});
