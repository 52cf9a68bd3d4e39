import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { setCookies } from './support/browser';
import { startBareApp } from './support/bare-app';
import { useFakeDate } from './support/clock';

type BareApp = Awaited<ReturnType<typeof startBareApp>>;

const REFRESH = '__Secure-ns-rt';
const ACCESS = '__Host-ns-at';

/** A cookie session's jar: its cookies by name and its latest CSRF token. */
interface Jar {
  cookies: Map<string, string>;
  csrf: string;
}

const absorb = (jar: Jar, res: request.Response) => {
  for (const c of setCookies(res)) if (c.value) jar.cookies.set(c.name, c.value);
  if (typeof res.body?.csrfToken === 'string') jar.csrf = res.body.csrfToken;
  return res;
};
const cookieHeader = (jar: Jar) => [...jar.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
const post = async (app: BareApp, jar: Jar, path: string) =>
  absorb(jar, await request(app.server).post(path).set('Cookie', cookieHeader(jar)).set('x-csrf-token', jar.csrf).send({ text: 'x' }));

/** `sessionSecret` rotates without logging anyone out (previousSessionSecrets). */
describe('rotating sessionSecret', () => {
  const jwtSecret = randomBytes(32).toString('base64url');
  const oldSecret = randomBytes(32).toString('base64url');
  const newSecret = randomBytes(32).toString('base64url');
  const deploy = (sessionSecret: string, previousSessionSecrets?: string[]) =>
    startBareApp({ session: { jwtSecret, sessionSecret, ...(previousSessionSecrets ? { previousSessionSecrets } : {}) } });

  it('CSRF tokens and refresh secrets made under the previous secret still verify; refreshing moves the session onto the new one', async () => {
    const before = await deploy(oldSecret);
    const jar: Jar = { cookies: new Map(), csrf: '' };
    try {
      absorb(jar, await request(before.server).post('/login').send({ id: 'rotating' }));
      expect(jar.cookies.has(REFRESH)).toBe(true);
    } finally {
      await before.close();
    }
    const oldRefresh = jar.cookies.get(REFRESH)!;
    const oldCsrf = jar.csrf;

    const during = await deploy(newSecret, [oldSecret]);
    try {
      // A CSRF token minted under the old secret still guards this session's requests.
      expect((await post(during, jar, '/notes')).status).toBe(201);
      const rotated = await post(during, jar, '/auth/refresh');
      expect(rotated.status).toBe(200);
      expect(jar.cookies.get(REFRESH)).not.toBe(oldRefresh);
      expect(jar.csrf).not.toBe(oldCsrf);
    } finally {
      await during.close();
    }

    // Once every session has refreshed, the old secret can go: what the session holds now was made under the new one.
    const after = await deploy(newSecret);
    try {
      expect((await post(after, jar, '/notes')).status).toBe(201);
      expect((await post(after, jar, '/auth/refresh')).status).toBe(200);
      // The old CSRF token alone is refused there.
      const stale: Jar = { cookies: jar.cookies, csrf: oldCsrf };
      expect((await post(after, stale, '/notes')).status).toBe(403);
    } finally {
      await after.close();
    }
  });

  it('reuse detection still recognises a secret from before the change: the session is revoked, not merely refused', async () => {
    const before = await deploy(oldSecret);
    let first: string;
    let second: string;
    let sessionId: string;
    try {
      const login = await request(before.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'replayed' });
      first = login.body.refreshToken;
      sessionId = first.split('.')[0];
      second = (await request(before.server).post('/auth/refresh').send({ refreshToken: first })).body.refreshToken;
      expect(second).toMatch(new RegExp(`^${sessionId}\\.`));
    } finally {
      await before.close();
    }
    const during = await deploy(newSecret, [oldSecret]);
    const clock = useFakeDate();
    try {
      clock.advance(11_000);
      const replay = await request(during.server).post('/auth/refresh').send({ refreshToken: first });
      expect([replay.status, replay.body.code]).toEqual([401, 'SESSION_REVOKED']);
      const [row] = await during.app.get(DataSource).query(`SELECT revoke_reason FROM auth_sessions WHERE id = $1`, [sessionId]);
      expect(row.revoke_reason).toBe('reuse_detected');
    } finally {
      clock.restore();
      await during.close();
    }
  });

  it('without the previous secret, the sessions made under it are refused (the list is what keeps them)', async () => {
    const before = await deploy(oldSecret);
    let refreshToken: string;
    try {
      refreshToken = (await request(before.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'cut-off' })).body.refreshToken;
    } finally {
      await before.close();
    }
    const after = await deploy(newSecret);
    try {
      const res = await request(after.server).post('/auth/refresh').send({ refreshToken });
      expect([res.status, res.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    } finally {
      await after.close();
    }
  });

  it.each([
    [[oldSecret, oldSecret, oldSecret, oldSecret, oldSecret, oldSecret], /at most 5/],
    [['too-short'], /previousSessionSecrets\[0\] is 9 bytes/],
  ])('a bad previousSessionSecrets stops the start: %#', async (previous, message) => {
    await expect(deploy(newSecret, previous as string[])).rejects.toThrow(message);
  });

  it('listing the current secret as a previous one stops the start', async () => {
    await expect(deploy(newSecret, [newSecret])).rejects.toThrow('previousSessionSecrets[0] is the current sessionSecret');
  });

  it('access cookies are untouched by the change (they are signed with the JWT keys, not sessionSecret)', async () => {
    const before = await deploy(oldSecret);
    const jar: Jar = { cookies: new Map(), csrf: '' };
    try {
      absorb(jar, await request(before.server).post('/login').send({ id: 'cookie-only' }));
    } finally {
      await before.close();
    }
    const during = await deploy(newSecret, [oldSecret]);
    try {
      const who = await request(during.server).get('/whoami').set('Cookie', `${ACCESS}=${jar.cookies.get(ACCESS)}`);
      expect(who.status).toBe(200);
    } finally {
      await during.close();
    }
  });
});
