import request from 'supertest';
import { ADAPTERS, startBareApp } from './support/bare-app';

/** One verifier per module. Two apps with different secrets in one process. */
describe.each(ADAPTERS)('two SessionModule apps in one process (%s)', (adapter) => {
  it('each accepts its own tokens and refuses the other\'s, whichever was created last', async () => {
    const a = await startBareApp({ adapter });
    const b = await startBareApp({ adapter });
    try {
      const login = async (app: typeof a) =>
        (await request(app.server).post('/login').set('X-Session-Transport', 'bearer').send({ id: 'same-user' })).body.accessToken as string;
      const [tokenA, tokenB] = [await login(a), await login(b)];
      const who = (app: typeof a, token: string) => request(app.server).get('/whoami').set('Authorization', `Bearer ${token}`);
      // Twice each: the second answer comes from the verified-token cache.
      for (let round = 0; round < 2; round++) {
        expect((await who(a, tokenA)).status).toBe(200);
        expect((await who(b, tokenB)).status).toBe(200);
        const crossA = await who(a, tokenB);
        const crossB = await who(b, tokenA);
        expect([crossA.status, crossA.body.code]).toEqual([401, 'UNAUTHENTICATED']);
        expect([crossB.status, crossB.body.code]).toEqual([401, 'UNAUTHENTICATED']);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
