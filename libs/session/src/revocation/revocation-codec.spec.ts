import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { resolveSessionOptions } from '../resolve-options';
import type { SessionStore } from '../store/session.store';
import { RevocationCodec, REVOCATION_MESSAGE_MAX_AGE_MS } from './revocation-codec';
import { SessionLiveness } from './session-liveness';

/** Revocation messages are authenticated; anything else on the channel is ignored. */
describe('RevocationCodec', () => {
  const key = randomBytes(32);
  let now = 1_800_000_000_000;
  const codec = new RevocationCodec(key, () => now);
  const ids = [randomUUID(), randomUUID()];
  const message = { origin: randomUUID(), sessionIds: ids };

  it('round-trips a message from an instance with the same key, with when it was sent', () => {
    expect(codec.decode(codec.encode(message))).toEqual({ ...message, sentAt: now });
  });

  it('while sessionSecret rotates, a message under the previous key is accepted, and new messages use the current key', () => {
    const current = randomBytes(32);
    const rotating = new RevocationCodec([current, key], () => now);
    expect(rotating.decode(codec.encode(message))).toEqual({ ...message, sentAt: now });
    expect(new RevocationCodec(current, () => now).decode(rotating.encode(message))).toEqual({ ...message, sentAt: now });
    expect(codec.decode(rotating.encode(message))).toBeNull();
  });

  it.each<[string, (raw: string) => string]>([
    ['another key', () => new RevocationCodec(randomBytes(32), () => now).encode(message)],
    ['an unsigned message of the old shape', () => JSON.stringify(message)],
    ['an altered session id', (raw) => raw.replace(ids[0], randomUUID())],
    ['an added session id', (raw) => { const v = JSON.parse(raw); v.s.push(randomUUID()); return JSON.stringify(v); }],
    ['an altered origin', (raw) => { const v = JSON.parse(raw); v.o = 'someone-else'; return JSON.stringify(v); }],
    ['an altered time', (raw) => { const v = JSON.parse(raw); v.t += 1; return JSON.stringify(v); }],
    ['a truncated MAC', (raw) => { const v = JSON.parse(raw); v.m = v.m.slice(0, 10); return JSON.stringify(v); }],
    ['ids that are not session ids', () => { const c = new RevocationCodec(key, () => now); return c.encode({ origin: 'x', sessionIds: ['../../etc'] }); }],
    ['an oversized payload', (raw) => raw + ' '.repeat(9_000)],
    ['not JSON', () => 'DROP TABLE auth_sessions'],
    ['JSON that is not an object', () => '[1,2,3]'],
  ])('refuses %s', (_label, tamper) => {
    expect(codec.decode(tamper(codec.encode(message)))).toBeNull();
  });

  it('refuses a message older or newer than a minute (a replay, or a clock far off)', () => {
    const raw = codec.encode(message);
    now += REVOCATION_MESSAGE_MAX_AGE_MS + 1;
    expect(codec.decode(raw)).toBeNull();
    now -= 2 * (REVOCATION_MESSAGE_MAX_AGE_MS + 1);
    expect(codec.decode(raw)).toBeNull();
    now += REVOCATION_MESSAGE_MAX_AGE_MS + 1;
    expect(codec.decode(raw)).toEqual({ ...message, sentAt: now });
  });
});

describe('SessionLiveness and the channel', () => {
  it('a forged message leaves the cache alone; an authentic one from another instance clears its sessions', async () => {
    const sessionSecret = randomBytes(32);
    const resolved = (bus: 'postgres' | 'none') =>
      resolveSessionOptions({ jwtSecret: randomBytes(32), sessionSecret, loadUser: () => null, revocation: { bus } }, {}, { NODE_ENV: 'test' });
    const store = { findLive: async () => ({ lastSeenAt: new Date(), expiresAt: new Date(Date.now() + 3_600_000) }), touch: async () => undefined } as unknown as SessionStore;
    const liveness = new SessionLiveness(resolved('postgres'), store, {} as DataSource);
    // What the transport hands over for every payload on the channel.
    const deliver = (payload: string) => (liveness as unknown as { handlePayload(p: string): void }).handlePayload(payload);
    const sid = randomUUID();
    expect(await liveness.isLive(sid, 'u1')).toBe(true);
    expect(liveness.isCachedLive(sid, 'u1')).toBe(true);

    deliver(JSON.stringify({ origin: 'attacker', sessionIds: [sid] }));
    deliver('x'.repeat(100_000));
    expect(liveness.isCachedLive(sid, 'u1')).toBe(true);

    const otherInstance = new RevocationCodec(resolved('none').revocationKey);
    deliver(otherInstance.encode({ origin: randomUUID(), sessionIds: [sid] }));
    expect(liveness.isCachedLive(sid, 'u1')).toBe(false);
  });
});
