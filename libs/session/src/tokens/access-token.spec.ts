import { createHmac, randomBytes, randomUUID, verify as cryptoVerify } from 'node:crypto';
import * as jwt from 'jsonwebtoken';
import { compactVerify } from 'jose';
import { resolveSessionOptions, type ResolvedSessionOptions } from '../resolve-options';
import type { SessionModuleOptions } from '../session.options';
import { AccessTokenExpiredError, UnauthenticatedError } from '../errors/session-error';
import { MAX_TOKEN_BYTES } from '../session.constants';
import { SessionJwtStrategy } from '../guards/jwt.strategy';
import { AccessTokenService } from './access-token';
import { ACCESS_TOKEN_TYP, isExpired, isWellFormedJwt, type AccessClaims } from './access-claims';
import { keyPair } from '../../../../test/support/key-pairs';

/**
 * A fresh random secret. The library's placeholder heuristic also refuses the rare random value
 * that happens to contain e.g. "xxxx" or "1234" (about 1 in 25,000); skip those so no run is flaky.
 */
function randomSecret(): string {
  for (;;) {
    const secret = randomBytes(32).toString('base64url');
    if (!/(change.?me|secret|password|example|placeholder|your[-_ ]|xxxx|1234)/i.test(secret)) return secret;
  }
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The frozen clock: every test passes explicit times derived from this instant. */
const NOW_MS = Date.UTC(2030, 0, 15, 12, 0, 0);
const NOW = NOW_MS / 1000;
const TTL = 600;
const SKEW = 5;
const SESSION_END_MS = NOW_MS + 7 * 86_400_000;
const ISSUER = 'https://api.test.invalid';
const AUDIENCE = 'sample-app';

const jwtSecret = randomSecret();
const sessionSecret = randomSecret();

function makeService(overrides: Partial<SessionModuleOptions> = {}): { service: AccessTokenService; strategy: SessionJwtStrategy; options: ResolvedSessionOptions } {
  const options = resolveSessionOptions(
    { jwtSecret, sessionSecret, loadUser: () => null, issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: '10m', ...overrides },
    {},
    { NODE_ENV: 'test' },
  );
  const strategy = new SessionJwtStrategy(options);
  return { service: new AccessTokenService(options, strategy), strategy, options };
}

const { service, strategy, options } = makeService();
const user = { id: 'user-42', roles: ['admin', 'editor'] };
const sid = randomUUID();

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
const headerOf = (token: string) => decode(token.split('.')[0]);
const payloadOf = (token: string) => decode(token.split('.')[1]);

/** Signs arbitrary header and claims with HMAC, independently of the code under test. */
function forge(header: Record<string, unknown>, payload: Record<string, unknown>, key: Buffer = Buffer.from(jwtSecret), hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

const HEADER = { alg: 'HS256', typ: ACCESS_TOKEN_TYP };
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, sub: user.id, sid, jti: randomUUID(), iat: NOW, exp: NOW + TTL, roles: user.roles, ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection; the promise resolved');
}

async function expectUnauthenticated(promise: Promise<unknown>): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(UnauthenticatedError);
  expect(error).not.toBeInstanceOf(AccessTokenExpiredError);
  expect((error as UnauthenticatedError).code).toBe('UNAUTHENTICATED');
  expect((error as UnauthenticatedError).getStatus()).toBe(401);
}

async function expectExpired(promise: Promise<unknown>): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(AccessTokenExpiredError);
  expect((error as AccessTokenExpiredError).code).toBe('ACCESS_TOKEN_EXPIRED');
  expect((error as AccessTokenExpiredError).getStatus()).toBe(401);
}

describe('AccessTokenService.sign', () => {
  it('writes the header {alg: HS256, typ: at+jwt} and nothing else', async () => {
    const { token } = await service.sign(user, sid, NOW_MS, SESSION_END_MS);
    expect(token.split('.')).toHaveLength(3);
    expect(headerOf(token)).toEqual({ alg: 'HS256', typ: 'at+jwt' });
  });

  it('writes exactly the claims iss, aud, sub, sid, jti, iat, exp, roles, auth_time', async () => {
    const { token } = await service.sign(user, sid, NOW_MS, SESSION_END_MS);
    const payload = payloadOf(token);
    expect(Object.keys(payload).sort()).toEqual(['aud', 'auth_time', 'exp', 'iat', 'iss', 'jti', 'roles', 'sid', 'sub']);
    expect(payload).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-42',
      sid,
      jti: expect.stringMatching(UUID_V4),
      iat: NOW,
      exp: NOW + TTL,
      roles: ['admin', 'editor'],
      auth_time: NOW,
    });
  });

  it('signs with HMAC-SHA-256 under the jwtSecret bytes', async () => {
    const { token } = await service.sign(user, sid, NOW_MS, SESSION_END_MS);
    const [h, p, s] = token.split('.');
    expect(s).toBe(createHmac('sha256', Buffer.from(jwtSecret)).update(`${h}.${p}`).digest('base64url'));
  });

  it('gives every token its own jti', async () => {
    const jtis = new Set<unknown>();
    for (let i = 0; i < 100; i++) jtis.add(payloadOf((await service.sign(user, sid, NOW_MS, SESSION_END_MS)).token).jti);
    expect(jtis.size).toBe(100);
  });

  it('uses the default issuer and audience when none are configured', async () => {
    const options = resolveSessionOptions({ jwtSecret, sessionSecret, loadUser: () => null }, {}, { NODE_ENV: 'test' });
    const payload = payloadOf((await new AccessTokenService(options, new SessionJwtStrategy(options)).sign(user, sid, NOW_MS, SESSION_END_MS)).token);
    expect(payload.iss).toBe('nest-sessions');
    expect(payload.aud).toBe('nest-sessions');
  });

  it('takes iat from the given clock, in whole seconds (floored), never from Date.now', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2001, 0, 1));
    try {
      const { token } = await service.sign(user, sid, NOW_MS + 999, SESSION_END_MS);
      expect(payloadOf(token).iat).toBe(NOW);
      expect(payloadOf(token).exp).toBe(NOW + TTL);
    } finally {
      now.mockRestore();
    }
  });

  it('exp = iat + ttl while the session outlives the token', async () => {
    const { token, expiresAt } = await service.sign(user, sid, NOW_MS, SESSION_END_MS);
    expect(payloadOf(token).exp).toBe(NOW + TTL);
    expect(expiresAt).toEqual(new Date((NOW + TTL) * 1000));
  });

  it('exp = the session end when the session ends first (floored to a second)', async () => {
    const { token, expiresAt } = await service.sign(user, sid, NOW_MS, NOW_MS + 120_999);
    expect(payloadOf(token).exp).toBe(NOW + 120);
    expect(expiresAt).toEqual(new Date((NOW + 120) * 1000));
  });

  it('exp = iat + ttl = session end when both coincide', async () => {
    const { token } = await service.sign(user, sid, NOW_MS, NOW_MS + TTL * 1000);
    expect(payloadOf(token).exp).toBe(NOW + TTL);
  });

  it('copies an empty role list as []', async () => {
    const { token } = await service.sign({ id: 'u', roles: [] }, sid, NOW_MS, SESSION_END_MS);
    expect(payloadOf(token).roles).toEqual([]);
  });
});

describe('AccessTokenService.verify on a frozen clock', () => {
  let token: string;
  beforeAll(async () => {
    ({ token } = await service.sign(user, sid, NOW_MS, SESSION_END_MS));
  });
  const exp = NOW + TTL;

  it('pins HS256 and checks iss and aud through jsonwebtoken, times on its own clock', () => {
    expect(strategy.verifyOptions).toEqual({
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      ignoreExpiration: true,
      ignoreNotBefore: true,
      complete: true,
    });
  });

  it('accepts the token at iat and returns its claims', async () => {
    const verified: AccessClaims = await service.verify(token, NOW_MS);
    expect(verified).toEqual(payloadOf(token));
    expect(verified.sub).toBe('user-42');
    expect(verified.sid).toBe(sid);
    expect(verified.roles).toEqual(['admin', 'editor']);
  });

  it('accepts at exp and up to just inside exp + skew', async () => {
    expect((await service.verify(token, (exp - 1) * 1000)).sid).toBe(sid);
    expect((await service.verify(token, exp * 1000)).sid).toBe(sid);
    expect((await service.verify(token, (exp + SKEW) * 1000 - 1)).sid).toBe(sid);
  });

  it('throws ACCESS_TOKEN_EXPIRED from exp + skew on', async () => {
    await expectExpired(service.verify(token, (exp + SKEW) * 1000));
    await expectExpired(service.verify(token, (exp + SKEW) * 1000 + 1));
    await expectExpired(service.verify(token, (exp + 86_400) * 1000));
  });

  it('does not consult Date.now: a far-future or far-past system clock changes nothing', async () => {
    const now = jest.spyOn(Date, 'now');
    try {
      now.mockReturnValue(Date.UTC(2100, 0, 1));
      expect((await service.verify(token, NOW_MS)).sid).toBe(sid);
      now.mockReturnValue(Date.UTC(1990, 0, 1));
      await expectExpired(service.verify(token, (exp + SKEW) * 1000));
    } finally {
      now.mockRestore();
    }
  });

  it('with clockSkew 0, expires exactly at exp', async () => {
    const strict = makeService({ clockSkew: 0 }).service;
    const t = (await strict.sign(user, sid, NOW_MS, SESSION_END_MS)).token;
    expect((await strict.verify(t, exp * 1000 - 1)).sid).toBe(sid);
    await expectExpired(strict.verify(t, exp * 1000));
  });

  it('a token capped by the session end expires with the session', async () => {
    const capped = (await service.sign(user, sid, NOW_MS, NOW_MS + 120_000)).token;
    expect((await service.verify(capped, (NOW + 120 + SKEW) * 1000 - 1)).sid).toBe(sid);
    await expectExpired(service.verify(capped, (NOW + 120 + SKEW) * 1000));
  });

  it('allowExpired returns the claims of an expired token', async () => {
    const late = (exp + 30 * 86_400) * 1000;
    const verified = await service.verify(token, late, true);
    expect(verified).toEqual(payloadOf(token));
    expect(await service.verify(token, NOW_MS, true)).toEqual(payloadOf(token));
  });

  describe('refuses with UNAUTHENTICATED', () => {
    it('a token signed with another key (also when expired, and with allowExpired)', async () => {
      const other = makeService({ jwtSecret: randomSecret() }).service;
      const foreign = (await other.sign(user, sid, NOW_MS, SESSION_END_MS)).token;
      expect((await other.verify(foreign, NOW_MS)).sid).toBe(sid);
      await expectUnauthenticated(service.verify(foreign, NOW_MS));
      await expectUnauthenticated(service.verify(foreign, (exp + 3600) * 1000));
      await expectUnauthenticated(service.verify(foreign, (exp + 3600) * 1000, true));
      await expectUnauthenticated(other.verify(token, NOW_MS));
    });

    it('a token of another issuer, even with the same key', async () => {
      const other = makeService({ issuer: 'https://other.test.invalid' }).service;
      const foreign = (await other.sign(user, sid, NOW_MS, SESSION_END_MS)).token;
      expect((await other.verify(foreign, NOW_MS)).iss).toBe('https://other.test.invalid');
      await expectUnauthenticated(service.verify(foreign, NOW_MS));
      await expectUnauthenticated(service.verify(foreign, (exp + 3600) * 1000));
      await expectUnauthenticated(service.verify(foreign, NOW_MS, true));
      await expectUnauthenticated(other.verify(token, NOW_MS));
    });

    it('a token for another audience, even with the same key', async () => {
      const other = makeService({ audience: 'another-app' }).service;
      const foreign = (await other.sign(user, sid, NOW_MS, SESSION_END_MS)).token;
      expect((await other.verify(foreign, NOW_MS)).aud).toBe('another-app');
      await expectUnauthenticated(service.verify(foreign, NOW_MS));
      await expectUnauthenticated(service.verify(foreign, (exp + 3600) * 1000));
      await expectUnauthenticated(service.verify(foreign, NOW_MS, true));
      await expectUnauthenticated(other.verify(token, NOW_MS));
    });

    it('a correctly signed token whose typ is not at+jwt (also when expired)', async () => {
      // Control: the forge produces tokens the service accepts.
      expect((await service.verify(forge(HEADER, claims()), NOW_MS)).sid).toBe(sid);
      expect((await service.verify(forge({ alg: 'HS256', typ: 'application/at+jwt' }, claims()), NOW_MS)).sid).toBe(sid);
      for (const typ of ['JWT', 'jwt', 'at+JWT', 'id+jwt', '', undefined]) {
        await expectUnauthenticated(service.verify(forge({ alg: 'HS256', typ }, claims()), NOW_MS));
        await expectUnauthenticated(service.verify(forge({ alg: 'HS256', typ }, claims()), (exp + 3600) * 1000));
        await expectUnauthenticated(service.verify(forge({ alg: 'HS256', typ }, claims()), NOW_MS, true));
      }
    });

    it('a token with another algorithm, a crit header or no signature', async () => {
      await expectUnauthenticated(service.verify(forge({ alg: 'HS384', typ: 'at+jwt' }, claims(), Buffer.from(jwtSecret), 'sha384'), NOW_MS));
      await expectUnauthenticated(service.verify(forge({ alg: 'HS512', typ: 'at+jwt' }, claims(), Buffer.from(jwtSecret), 'sha512'), NOW_MS));
      await expectUnauthenticated(service.verify(forge({ ...HEADER, crit: ['exp'] }, claims()), NOW_MS));
      await expectUnauthenticated(service.verify(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`, NOW_MS));
      const [h, p] = token.split('.');
      await expectUnauthenticated(service.verify(`${h}.${p}.`, NOW_MS));
    });

    it('a token whose payload was edited after signing', async () => {
      const [h, , s] = token.split('.');
      await expectUnauthenticated(service.verify(`${h}.${b64({ ...payloadOf(token), sub: 'someone-else' })}.${s}`, NOW_MS));
      await expectUnauthenticated(service.verify(`${h}.${b64({ ...payloadOf(token), exp: exp + 86_400 })}.${s}`, NOW_MS));
    });

    it('an iat in the future beyond the skew (also with allowExpired)', async () => {
      const ahead = (await service.sign(user, sid, NOW_MS + (SKEW + 1) * 1000, SESSION_END_MS)).token;
      expect(payloadOf(ahead).iat).toBe(NOW + SKEW + 1);
      await expectUnauthenticated(service.verify(ahead, NOW_MS));
      await expectUnauthenticated(service.verify(ahead, NOW_MS, true));
      // The same token is fine once the clock catches up to within the skew.
      expect((await service.verify(ahead, NOW_MS + 1000)).sid).toBe(sid);
    });

    it('but accepts an iat in the future within the skew', async () => {
      const ahead = (await service.sign(user, sid, NOW_MS + SKEW * 1000, SESSION_END_MS)).token;
      expect((await service.verify(ahead, NOW_MS)).iat).toBe(NOW + SKEW);
    });

    it('an auth_time that is not a number, or later than now beyond the skew (a token claiming a login yet to happen)', async () => {
      for (const authTime of [String(NOW), null, NOW + SKEW + 1, Number.POSITIVE_INFINITY, { t: NOW }]) {
        await expectUnauthenticated(service.verify(forge(HEADER, claims({ auth_time: authTime })), NOW_MS));
      }
      expect((await service.verify(forge(HEADER, claims({ auth_time: NOW + SKEW })), NOW_MS)).auth_time).toBe(NOW + SKEW);
      expect((await service.verify(forge(HEADER, claims({})), NOW_MS)).auth_time).toBeUndefined();
    });

    it('an nbf in the future beyond the skew, or an nbf that is not a number', async () => {
      await expectUnauthenticated(service.verify(forge(HEADER, claims({ nbf: NOW + SKEW + 1 })), NOW_MS));
      await expectUnauthenticated(service.verify(forge(HEADER, claims({ nbf: NOW + SKEW + 1 })), NOW_MS, true));
      await expectUnauthenticated(service.verify(forge(HEADER, claims({ nbf: String(NOW) })), NOW_MS));
      expect((await service.verify(forge(HEADER, claims({ nbf: NOW + SKEW })), NOW_MS)).sid).toBe(sid);
      expect((await service.verify(forge(HEADER, claims({ nbf: NOW - 60 })), NOW_MS)).sid).toBe(sid);
    });

    it.each<[string, Record<string, unknown>]>([
      ['no sub', { sub: undefined }],
      ['an empty sub', { sub: '' }],
      ['a numeric sub', { sub: 42 }],
      ['an over-long sub', { sub: 'u'.repeat(257) }],
      ['no sid', { sid: undefined }],
      ['a sid that is not a uuid', { sid: 'session-1' }],
      ['an upper-case sid', { sid: sid.toUpperCase() }],
      ['no jti', { jti: undefined }],
      ['no iat', { iat: undefined }],
      ['a string iat', { iat: String(NOW) }],
      ['no exp', { exp: undefined }],
      ['a string exp', { exp: String(NOW + TTL) }],
      ['roles that are not a list', { roles: 'admin' }],
      ['roles that are not strings', { roles: ['admin', 1] }],
    ])('a signed token with %s', async (_label, overrides) => {
      await expectUnauthenticated(service.verify(forge(HEADER, claims(overrides)), NOW_MS));
    });

    it.each<[string, string]>([
      ['an empty string', ''],
      ['one segment', 'abc'],
      ['two segments', 'abc.def'],
      ['four segments', 'a.b.c.d'],
      ['whitespace', ' a.b.c'],
      ['standard base64', 'a+b.c/d.e=f'],
    ])('a malformed token: %s', async (_label, value) => {
      await expectUnauthenticated(service.verify(value, NOW_MS));
    });

    it(`a token longer than ${MAX_TOKEN_BYTES} characters, even when correctly signed`, async () => {
      const bloated = (await service.sign({ id: user.id, roles: ['r'.repeat(MAX_TOKEN_BYTES)] }, sid, NOW_MS, SESSION_END_MS)).token;
      expect(bloated.length).toBeGreaterThan(MAX_TOKEN_BYTES);
      expect(isWellFormedJwt(bloated)).toBe(false);
      await expectUnauthenticated(service.verify(bloated, NOW_MS));
      expect(isWellFormedJwt(token)).toBe(true);
    });
  });

  it('returns [] for a token without roles', async () => {
    const { roles: _roles, ...withoutRoles } = claims();
    expect((await service.verify(forge(HEADER, withoutRoles), NOW_MS)).roles).toEqual([]);
  });
});

describe('one signer, one verifier', () => {
  it('HS256 tokens verify with an independent implementation (jsonwebtoken), and not under another key', async () => {
    const { token } = await service.sign(user, sid, NOW_MS, SESSION_END_MS);
    const decoded = jwt.verify(token, Buffer.from(jwtSecret), { algorithms: ['HS256'], ignoreExpiration: true, complete: true });
    expect(decoded.header).toEqual({ alg: 'HS256', typ: 'at+jwt' });
    expect(() => jwt.verify(token, randomBytes(32), { algorithms: ['HS256'], ignoreExpiration: true })).toThrow('invalid signature');
  });

  it('EdDSA tokens are signed by jose and verify with node:crypto alone; ES256 ones (jsonwebtoken) verify with jose', async () => {
    const ed = keyPair('ed25519');
    const edService = makeService({ jwtSecret: undefined, signingKeys: [{ kid: 'ed-1', alg: 'EdDSA', key: ed.privateKey }] }).service;
    const edToken = (await edService.sign(user, sid, NOW_MS, SESSION_END_MS)).token;
    const [h, p, s] = edToken.split('.');
    expect(headerOf(edToken)).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed-1' });
    expect(cryptoVerify(null, Buffer.from(`${h}.${p}`), ed.publicKey, Buffer.from(s, 'base64url'))).toBe(true);
    expect((await edService.verify(edToken, NOW_MS)).sid).toBe(sid);

    const ec = keyPair('ec', { namedCurve: 'prime256v1' });
    const esService = makeService({ jwtSecret: undefined, signingKeys: [{ kid: 'es-1', alg: 'ES256', key: ec.privateKey }] }).service;
    const esToken = (await esService.sign(user, sid, NOW_MS, SESSION_END_MS)).token;
    const { protectedHeader } = await compactVerify(esToken, ec.publicKey, { algorithms: ['ES256'] });
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'es-1' });
  });

  it('verify and sessionIdOf go through the strategy the guard uses, with the caller\'s clock and allowExpired', async () => {
    const { service, strategy } = makeService();
    const spy = jest.spyOn(strategy, 'verifyToken');
    const { token } = await service.sign(user, sid, NOW_MS, SESSION_END_MS);
    const late = (NOW + TTL + 86_400) * 1000;
    await expectExpired(service.verify(token, late));
    expect(spy).toHaveBeenLastCalledWith(token, late, false);
    expect(await service.sessionIdOf(token, late)).toBe(sid);
    expect(spy).toHaveBeenLastCalledWith(token, late, true);
    expect(await strategy.verifyToken(token, late, true)).toEqual(await service.verify(token, late, true));
    expect(await service.sessionIdOf(forge(HEADER, claims(), randomBytes(32)), NOW_MS)).toBeNull();
    expect(await service.sessionIdOf('not a token', NOW_MS)).toBeNull();
    expect(spy).toHaveBeenCalledTimes(6);
  });
});

describe('isExpired', () => {
  it('is false before exp + skew and true from it on', async () => {
    const exp = NOW + TTL;
    expect(isExpired({ exp }, (exp + SKEW) * 1000 - 1, SKEW)).toBe(false);
    expect(isExpired({ exp }, (exp + SKEW) * 1000, SKEW)).toBe(true);
    expect(isExpired({ exp }, exp * 1000 - 1, 0)).toBe(false);
    expect(isExpired({ exp }, exp * 1000, 0)).toBe(true);
  });
});

it('the resolved options used above are the ones under test', async () => {
  expect(options.accessTokenTtlMs).toBe(TTL * 1000);
  expect(options.clockSkewMs).toBe(SKEW * 1000);
  expect(options.issuer).toBe(ISSUER);
  expect(options.audience).toBe(AUDIENCE);
});
