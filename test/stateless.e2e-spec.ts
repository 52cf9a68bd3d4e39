import request from 'supertest';
import { startApp, type TestApp } from './support/app';
import { bearerLogin } from './support/browser';
import { useFakeDate } from './support/clock';

/** docs/security.md case 16 in stateless mode: revocation reaches access tokens when they expire, and refresh at once. */
describe('stateless revocation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ SESSION_REVOCATION: 'stateless', ACCESS_TOKEN_TTL: '5m' });
  });
  afterAll(() => t.close());

  it('after logout the access token works until its expiry (documented), the refresh token not at all', async () => {
    const clock = useFakeDate();
    try {
      const { accessToken, refreshToken } = await bearerLogin(t);
      expect((await request(t.server).post('/auth/logout').send({ refreshToken })).status).toBe(204);
      expect((await request(t.server).post('/auth/refresh').send({ refreshToken })).status).toBe(401);
      expect((await request(t.server).get('/whoami').set('Authorization', `Bearer ${accessToken}`)).status).toBe(200);
      clock.advance(5 * 60_000 + 6_000);
      const expired = await request(t.server).get('/whoami').set('Authorization', `Bearer ${accessToken}`);
      expect(expired.status).toBe(401);
      expect(expired.body.code).toBe('ACCESS_TOKEN_EXPIRED');
    } finally {
      clock.restore();
    }
  });
});

describe('the sample web page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('GET / serves the page with a strict CSP, and its script sends the CSRF token on unsafe requests', async () => {
    const page = await request(t.server).get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.text).toContain('<script type="module" src="/app.js"></script>');
    expect(page.text).not.toMatch(/<script>(?!<\/script>)/);
    const script = await request(t.server).get('/app.js');
    expect(script.status).toBe(200);
    expect(script.text).toContain("import { createSessionClient } from './session-client.mjs'");
    const client = await request(t.server).get('/session-client.mjs');
    expect(client.text).toContain("options.csrfHeader ?? 'x-csrf-token'");
    expect(client.text).toContain("'ACCESS_TOKEN_EXPIRED'");
  });
});
