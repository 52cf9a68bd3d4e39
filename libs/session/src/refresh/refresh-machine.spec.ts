import { RefreshMachine, type RefreshMachineParts, type RefreshStore } from './refresh-machine';
import { decideRefresh, type SecretMatch } from './refresh-decision';
import { SessionEnder } from '../session-ender';
import { SessionUsers } from '../session-users';
import { formatRefreshToken, hashRefreshSecret } from '../tokens/refresh-token';
import { verifyCsrfToken } from '../tokens/csrf-token';
import { RateLimitedError, SessionError } from '../errors/session-error';
import type { CurrentRotation, CurrentRotationResult, RefreshRow } from '../store/session.store';
import type { PresentedRefreshToken, SessionGrant } from '../session-grant';
import type { RevokeReason, SessionUser, UserId } from '../session.types';

// A table of every refresh transition, run through the real machine (and the real ender and
// user loader) on an in-memory store that keeps the SQL's semantics, with a frozen clock.

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const PEPPER = Buffer.alloc(32, 1);
const OLD_PEPPER = Buffer.alloc(32, 2);
const CSRF_KEY = Buffer.alloc(32, 3);
const SID = '11111111-1111-4111-8111-111111111111';
const OTHER_SID = '22222222-2222-4222-8222-222222222222';
const secret = (n: number) => String.fromCharCode(65 + n).repeat(43);
const token = (n: number, sessionId = SID) => formatRefreshToken(sessionId, secret(n));
const hash = (n: number, pepper = PEPPER) => hashRefreshSecret(secret(n), pepper);

const OPTIONS: RefreshMachineParts['options'] = {
  refreshPepper: PEPPER,
  refreshPeppers: [PEPPER, OLD_PEPPER],
  refreshReuseGraceMs: 10 * SECOND,
  graceRefreshLimit: 3,
  idleTimeoutMs: 7 * DAY,
  lineageSize: 5,
  csrfKey: CSRF_KEY,
  dpop: 'allowed',
};

/** A row as the store keeps it: the whole lineage (`previous_hashes`) and the grace count. */
type FakeRow = Omit<RefreshRow, 'previousHash'> & {
  /** Earlier hashes, newest first, as `previous_hashes`. */
  lineage: Buffer[];
  graceHits: number;
};

/** The session store's refresh statements over one map, with the same WHERE clauses. */
class FakeStore implements RefreshStore {
  readonly rows = new Map<string, FakeRow>();
  /** Set to make the one-statement rotation answer as if the database refused on this limit. */
  limitedAt: number | null = null;
  /** Runs once, just before the next compare-and-swap `rotate`: a parallel refresh winning the race. */
  beforeRotate: (() => void) | null = null;
  /** The one-statement rotation misses once, as when it ran while a failed refresh was undone. */
  missCurrentOnce = false;
  failUndo = false;

  async rotateCurrent(r: CurrentRotation): Promise<CurrentRotationResult> {
    if (this.limitedAt !== null) return { outcome: 'limited', index: this.limitedAt, prior: null };
    const row = this.rows.get(r.id);
    if (this.missCurrentOnce) {
      this.missCurrentOnce = false;
      return { outcome: 'not_current' };
    }
    const current = row && r.hashes.some((h) => h.equals(row.secretHash));
    if (!row || !current || row.revokedAt || row.expiresAt <= r.now || (row.transport === 'cookie') !== r.viaCookie) return { outcome: 'not_current' };
    if (row.keyJkt !== null ? row.keyJkt !== r.jkt : r.keyRequired) return { outcome: 'not_current' };
    const previousRotatedAt = row.rotatedAt;
    const expiresAt = new Date(Math.min(row.absoluteExpiresAt.getTime(), r.now.getTime() + (row.idleTimeoutMs ?? r.idleTimeoutMs)));
    this.rotateRow(row, r.newHash, r.now, expiresAt, r.lineageSize);
    const { userId, userIdNumeric, transport, generation, absoluteExpiresAt, authenticatedAt, persistent, keyJkt } = row;
    return { outcome: 'rotated', row: { userId, userIdNumeric, transport, generation, expiresAt, absoluteExpiresAt, authenticatedAt, persistent, keyJkt, previousRotatedAt } };
  }

  async findForRefresh(id: string): Promise<RefreshRow | null> {
    const row = this.rows.get(id);
    if (!row) return null;
    const { lineage, graceHits: _graceHits, ...rest } = row;
    return { ...rest, previousHash: lineage[0] ?? null };
  }

  async findLineage(id: string): Promise<Buffer[]> {
    return this.rows.get(id)?.lineage ?? [];
  }

  async rotate(id: string, generation: number, newHash: Buffer, now: Date, expiresAt: Date, lineageSize: number): Promise<boolean> {
    const race = this.beforeRotate;
    this.beforeRotate = null;
    race?.();
    const row = this.rows.get(id);
    if (!row || row.generation !== generation || row.revokedAt || row.expiresAt <= now) return false;
    this.rotateRow(row, newHash, now, expiresAt, lineageSize);
    return true;
  }

  async countGraceHit(id: string, generation: number, max: number): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || row.generation !== generation || row.graceHits >= max || row.revokedAt) return false;
    row.graceHits++;
    return true;
  }

  async undoRotation(id: string, generation: number, newHash: Buffer, previousRotatedAt: Date | null): Promise<boolean> {
    if (this.failUndo) throw new Error('connection lost');
    const row = this.rows.get(id);
    if (!row || row.generation !== generation || !row.secretHash.equals(newHash) || row.lineage.length === 0) return false;
    row.secretHash = row.lineage.shift()!;
    row.generation--;
    row.rotatedAt = previousRotatedAt;
    return true;
  }

  async revoke(id: string, reason: RevokeReason, now: Date): Promise<{ userId: string; userIdNumeric: boolean } | null> {
    const row = this.rows.get(id);
    if (!row || row.revokedAt) return null;
    Object.assign(row, { revokedAt: now, revokeReason: reason, expiresAt: new Date(Math.min(row.expiresAt.getTime(), now.getTime())) });
    return { userId: row.userId, userIdNumeric: row.userIdNumeric };
  }

  private rotateRow(row: FakeRow, newHash: Buffer, now: Date, expiresAt: Date, lineageSize: number): void {
    row.lineage = [row.secretHash, ...row.lineage].slice(0, lineageSize);
    Object.assign(row, { secretHash: newHash, rotatedAt: now, generation: row.generation + 1, graceHits: 0, expiresAt });
  }
}

/** A session at generation 2 whose current secret is `secret(2)`, rotated from 1 and 0. */
function session(overrides: Partial<FakeRow> = {}): FakeRow {
  return {
    userId: 'u1',
    userIdNumeric: false,
    transport: 'cookie',
    secretHash: hash(2),
    lineage: [hash(1), hash(0)],
    rotatedAt: new Date(T0 - 5 * SECOND),
    generation: 2,
    expiresAt: new Date(T0 + DAY),
    absoluteExpiresAt: new Date(T0 + 30 * DAY),
    revokedAt: null,
    revokeReason: null,
    authenticatedAt: new Date(T0 - 2 * DAY),
    idleTimeoutMs: null,
    persistent: true,
    graceHits: 0,
    keyJkt: null,
    deviceKey: null,
    ...overrides,
  };
}

interface World {
  machine: RefreshMachine;
  store: FakeStore;
  clock: { now: number };
  events: Array<[string, Record<string, unknown>]>;
  revoked: string[][];
  signed: Array<{ user: SessionUser<UserId>; nowMs: number; endsAtMs: number; authenticatedAtMs: number | undefined }>;
  loadUser: jest.Mock;
  limiter: { refreshAttempt: jest.Mock; spend: jest.Mock; spendInRow: jest.Mock; chargeFailed: jest.Mock; refusedInline: jest.Mock; explainFailure: jest.Mock };
  warnings: string[];
  /** What each refresh reported to telemetry. */
  outcomes: string[];
}

function world(row: FakeRow | null = session(), options: Partial<RefreshMachineParts['options']> = {}): World {
  const store = new FakeStore();
  if (row) store.rows.set(SID, row);
  const clock = { now: T0 };
  const events: World['events'] = [];
  const revoked: string[][] = [];
  const signed: World['signed'] = [];
  const warnings: string[] = [];
  const emitter = { emit: (name: string, payload: Record<string, unknown>) => (events.push([name, payload]), true) } as unknown as RefreshMachineParts['events'];
  const ender = new SessionEnder(store, { revoked: async (ids: string[]) => void revoked.push(ids) }, emitter);
  const loadUser = jest.fn(async (id: UserId): Promise<SessionUser<UserId> | null> => ({ id, roles: ['member'] }));
  const users = new SessionUsers(loadUser, ender, { error: () => undefined });
  const limiter = {
    refreshAttempt: jest.fn(async () => [{ key: 'k', rule: { limit: 1, windowMs: 1000 }, perIp: null }]),
    spend: jest.fn(async () => undefined),
    spendInRow: jest.fn(async () => undefined),
    chargeFailed: jest.fn(async () => undefined),
    refusedInline: jest.fn((): never => {
      throw new RateLimitedError(7);
    }),
    explainFailure: jest.fn(),
  };
  const tokens = {
    sign: async (user: SessionUser<UserId>, sessionId: string, nowMs: number, endsAtMs: number, authenticatedAtMs?: number) => {
      signed.push({ user, nowMs, endsAtMs, authenticatedAtMs });
      return { token: `access:${sessionId}:${nowMs}`, expiresAt: new Date(Math.min(nowMs + 15 * MINUTE, endsAtMs)) };
    },
  };
  const outcomes: string[] = [];
  const machine = new RefreshMachine({
    options: { ...OPTIONS, ...options },
    store,
    tokens: tokens as unknown as RefreshMachineParts['tokens'],
    limiter: limiter as unknown as RefreshMachineParts['limiter'],
    events: emitter,
    ender,
    users,
    logger: { warn: (message: string) => void warnings.push(message) },
    telemetry: { refreshed: (outcome) => void outcomes.push(outcome), rateLimited: () => undefined },
    clock: () => clock.now,
  });
  return { machine, store, clock, events, revoked, signed, loadUser, limiter, warnings, outcomes };
}

type Outcome = 'rotated' | 'grace' | string;

async function outcomeOf(w: World, presented: PresentedRefreshToken, jkt: string | null = null): Promise<{ outcome: Outcome; grant?: SessionGrant }> {
  try {
    const grant = await w.machine.refresh(presented, { ip: '203.0.113.9', jkt });
    return { outcome: grant.refreshToken ? 'rotated' : 'grace', grant };
  } catch (error) {
    return { outcome: error instanceof SessionError ? error.code : `thrown: ${(error as Error).message}` };
  }
}

const cookie = (n: number, sessionId = SID): PresentedRefreshToken => ({ token: token(n, sessionId), via: 'cookie' });
const body = (n: number, sessionId = SID): PresentedRefreshToken => ({ token: token(n, sessionId), via: 'body' });
const JKT = 'A'.repeat(43);

interface Case {
  name: string;
  row?: FakeRow | null;
  options?: Partial<RefreshMachineParts['options']>;
  presented: PresentedRefreshToken;
  /** The thumbprint of the request's DPoP proof key; default none. */
  jkt?: string | null;
  arrange?: (w: World) => void;
  outcome: Outcome;
  /** The row's revoke reason afterwards; null: still open. */
  revokedFor?: RevokeReason | null;
  generation: number | null;
  events: string[];
}

const cases: Case[] = [
  { name: 'current secret: rotates once', presented: cookie(2), outcome: 'rotated', revokedFor: null, generation: 3, events: ['refreshed'] },
  {
    name: 'current secret under the previous pepper (sessionSecret rotated): rotates',
    row: session({ secretHash: hash(2, OLD_PEPPER) }),
    presented: cookie(2),
    outcome: 'rotated',
    revokedFor: null,
    generation: 3,
    events: ['refreshed'],
  },
  { name: 'previous secret within the grace window: an access token, no rotation', presented: cookie(1), outcome: 'grace', revokedFor: null, generation: 2, events: [] },
  {
    name: 'previous secret at the grace cap: 429, the session goes on',
    row: session({ graceHits: 3 }),
    presented: cookie(1),
    outcome: 'RATE_LIMITED',
    revokedFor: null,
    generation: 2,
    events: ['refresh_failed'],
  },
  {
    name: 'previous secret after the grace window: reuse, the session is revoked',
    presented: cookie(1),
    arrange: (w) => (w.clock.now = T0 + 6 * SECOND),
    outcome: 'SESSION_REVOKED',
    revokedFor: 'reuse_detected',
    generation: 2,
    events: ['revoked', 'reuse_detected', 'refresh_failed'],
  },
  {
    name: 'previous secret with no grace window configured: reuse',
    options: { refreshReuseGraceMs: 0 },
    presented: cookie(1),
    outcome: 'SESSION_REVOKED',
    revokedFor: 'reuse_detected',
    generation: 2,
    events: ['revoked', 'reuse_detected', 'refresh_failed'],
  },
  {
    name: 'an older secret of the lineage: reuse, whatever the window',
    presented: cookie(0),
    outcome: 'SESSION_REVOKED',
    revokedFor: 'reuse_detected',
    generation: 2,
    events: ['revoked', 'reuse_detected', 'refresh_failed'],
  },
  {
    name: 'a secret the session never issued: 401, nothing touched',
    presented: cookie(9),
    outcome: 'UNAUTHENTICATED',
    revokedFor: null,
    generation: 2,
    events: ['refresh_failed'],
  },
  {
    name: 'a session never rotated and a wrong secret: 401 without reading a lineage',
    row: session({ lineage: [], generation: 0, rotatedAt: null }),
    presented: cookie(9),
    outcome: 'UNAUTHENTICATED',
    revokedFor: null,
    generation: 0,
    events: ['refresh_failed'],
  },
  { name: 'an unknown session id: 401', presented: cookie(2, OTHER_SID), outcome: 'UNAUTHENTICATED', generation: 2, revokedFor: null, events: ['refresh_failed'] },
  { name: 'not a refresh token at all: 401', presented: { token: 'not-a-token', via: 'cookie' }, outcome: 'UNAUTHENTICATED', generation: 2, revokedFor: null, events: ['refresh_failed'] },
  {
    name: 'a revoked session: 401 SESSION_REVOKED for its current secret',
    row: session({ revokedAt: new Date(T0 - MINUTE), revokeReason: 'logout' }),
    presented: cookie(2),
    outcome: 'SESSION_REVOKED',
    revokedFor: 'logout',
    generation: 2,
    events: ['refresh_failed'],
  },
  {
    name: 'a session the cleanup marked ran out: log in again',
    row: session({ revokedAt: new Date(T0 - MINUTE), revokeReason: 'idle_timeout', expiresAt: new Date(T0 - MINUTE) }),
    presented: cookie(2),
    outcome: 'REAUTHENTICATION_REQUIRED',
    revokedFor: 'idle_timeout',
    generation: 2,
    events: ['refresh_failed'],
  },
  {
    name: 'idle expiry reached: ended as idle_timeout, log in again',
    row: session({ expiresAt: new Date(T0) }),
    presented: cookie(2),
    outcome: 'REAUTHENTICATION_REQUIRED',
    revokedFor: 'idle_timeout',
    generation: 2,
    events: ['revoked', 'refresh_failed'],
  },
  {
    name: 'absolute expiry reached: ended as absolute_timeout, log in again',
    row: session({ expiresAt: new Date(T0 - SECOND), absoluteExpiresAt: new Date(T0 - SECOND) }),
    presented: cookie(2),
    outcome: 'REAUTHENTICATION_REQUIRED',
    revokedFor: 'absolute_timeout',
    generation: 2,
    events: ['revoked', 'refresh_failed'],
  },
  {
    name: 'a cookie secret presented in a body: taken out of the browser, revoked',
    presented: { token: token(2), via: 'body' },
    outcome: 'SESSION_REVOKED',
    revokedFor: 'transport_mismatch',
    generation: 2,
    events: ['revoked', 'refresh_failed'],
  },
  {
    name: 'a bearer secret presented in a cookie: revoked',
    row: session({ transport: 'bearer' }),
    presented: cookie(2),
    outcome: 'SESSION_REVOKED',
    revokedFor: 'transport_mismatch',
    generation: 2,
    events: ['revoked', 'refresh_failed'],
  },
  {
    name: 'loadUser returns null on the current secret: user_disabled, revoked, not rotated back',
    presented: cookie(2),
    arrange: (w) => w.loadUser.mockResolvedValueOnce(null),
    outcome: 'SESSION_REVOKED',
    revokedFor: 'user_disabled',
    generation: 3,
    events: ['revoked', 'refresh_failed'],
  },
  {
    name: 'loadUser returns null in the grace window: user_disabled',
    presented: cookie(1),
    arrange: (w) => w.loadUser.mockResolvedValueOnce(null),
    outcome: 'SESSION_REVOKED',
    revokedFor: 'user_disabled',
    generation: 2,
    events: ['revoked', 'refresh_failed'],
  },
  {
    name: 'loadUser throws: 503, the rotation is undone so the client’s secret stays current',
    presented: cookie(2),
    arrange: (w) => w.loadUser.mockRejectedValueOnce(new Error('users db down')),
    outcome: 'thrown: nest-sessions: the session store is unavailable (loadUser)',
    revokedFor: null,
    generation: 2,
    events: ['refresh_failed'],
  },
  {
    name: 'rate limited before the secret is looked at (a store that spends in refreshAttempt)',
    presented: cookie(2),
    arrange: (w) => w.limiter.refreshAttempt.mockRejectedValueOnce(new RateLimitedError(3)),
    outcome: 'RATE_LIMITED',
    revokedFor: null,
    generation: 2,
    events: ['refresh_failed'],
  },
  {
    name: 'rate limited inside the rotation statement: 429, nothing rotated',
    presented: cookie(2),
    arrange: (w) => (w.store.limitedAt = 0),
    outcome: 'RATE_LIMITED',
    revokedFor: null,
    generation: 2,
    events: ['refresh_failed'],
  },
  {
    name: 'a concurrent rotation wins the compare-and-swap: this refresh gets the grace answer',
    presented: cookie(2),
    arrange: (w) => {
      w.store.missCurrentOnce = true;
      w.store.beforeRotate = () => void w.store.rotateCurrent({ id: SID, hashes: [hash(2)], newHash: hash(7), now: new Date(T0), idleTimeoutMs: DAY, lineageSize: 5, viaCookie: true, jkt: null, keyRequired: false, limits: [] });
    },
    outcome: 'grace',
    revokedFor: null,
    generation: 3,
    events: [],
  },
  {
    name: 'the one-statement rotation missed but the secret is current on the full read: rotates by compare-and-swap',
    presented: cookie(2),
    arrange: (w) => (w.store.missCurrentOnce = true),
    outcome: 'rotated',
    revokedFor: null,
    generation: 3,
    events: ['refreshed'],
  },
  {
    name: 'a session revoked between the full read and the compare-and-swap: refused twice over, SESSION_REVOKED',
    presented: cookie(2),
    arrange: (w) => {
      w.store.missCurrentOnce = true;
      w.store.beforeRotate = () => void w.store.revoke(SID, 'logout', new Date(T0));
    },
    outcome: 'SESSION_REVOKED',
    revokedFor: 'logout',
    generation: 2,
    events: ['refresh_failed'],
  },
  {
    name: 'DPoP-bound session, current secret with a proof by its key: rotates',
    row: session({ transport: 'bearer', keyJkt: JKT }),
    presented: body(2),
    jkt: JKT,
    outcome: 'rotated',
    revokedFor: null,
    generation: 3,
    events: ['refreshed'],
  },
  {
    name: 'DPoP-bound session, current secret without a proof: refused as theft, the session goes on',
    row: session({ transport: 'bearer', keyJkt: JKT }),
    presented: body(2),
    outcome: 'DPOP_PROOF_INVALID',
    revokedFor: null,
    generation: 2,
    events: ['theft_suspected', 'refresh_failed'],
  },
  {
    name: 'DPoP-bound session, current secret with a proof by another key: refused as theft, the session goes on',
    row: session({ transport: 'bearer', keyJkt: JKT }),
    presented: body(2),
    jkt: 'B'.repeat(43),
    outcome: 'DPOP_PROOF_INVALID',
    revokedFor: null,
    generation: 2,
    events: ['theft_suspected', 'refresh_failed'],
  },
  {
    name: 'DPoP-bound session, an old secret without the key: refused as theft, not reuse (a thief cannot end the session)',
    row: session({ transport: 'bearer', keyJkt: JKT }),
    presented: body(0),
    outcome: 'DPOP_PROOF_INVALID',
    revokedFor: null,
    generation: 2,
    events: ['theft_suspected', 'refresh_failed'],
  },
  {
    name: 'DPoP-bound session, an old secret with its key: reuse, the session is revoked',
    row: session({ transport: 'bearer', keyJkt: JKT }),
    presented: body(0),
    jkt: JKT,
    outcome: 'SESSION_REVOKED',
    revokedFor: 'reuse_detected',
    generation: 2,
    events: ['revoked', 'reuse_detected', 'refresh_failed'],
  },
  {
    name: "dpop 'required': an unbound bearer session refreshes nothing, even with a proof (log in again with a key)",
    row: session({ transport: 'bearer' }),
    options: { dpop: 'required' },
    presented: body(2),
    jkt: JKT,
    outcome: 'DPOP_PROOF_REQUIRED',
    revokedFor: null,
    generation: 2,
    events: ['refresh_failed'],
  },
  {
    name: "dpop 'required': a bound session rotates with its key",
    row: session({ transport: 'bearer', keyJkt: JKT }),
    options: { dpop: 'required' },
    presented: body(2),
    jkt: JKT,
    outcome: 'rotated',
    revokedFor: null,
    generation: 3,
    events: ['refreshed'],
  },
  {
    name: "dpop 'required': a cookie session is not concerned",
    options: { dpop: 'required' },
    presented: cookie(2),
    outcome: 'rotated',
    revokedFor: null,
    generation: 3,
    events: ['refreshed'],
  },
  {
    name: 'DPoP-bound session, a secret it never issued: unknown, no theft signal',
    row: session({ transport: 'bearer', keyJkt: JKT }),
    presented: body(9),
    outcome: 'UNAUTHENTICATED',
    revokedFor: null,
    generation: 2,
    events: ['refresh_failed'],
  },
];

describe('RefreshMachine: every transition', () => {
  it.each(cases)('$name', async (c) => {
    const w = world(c.row === undefined ? session() : c.row, c.options);
    c.arrange?.(w);
    const { outcome } = await outcomeOf(w, c.presented, c.jkt);
    expect(outcome).toBe(c.outcome);
    const row = w.store.rows.get(SID);
    expect(row ? row.generation : null).toBe(c.generation);
    if (row && c.revokedFor !== undefined) expect(row.revokeReason).toBe(c.revokedFor);
    expect(w.events.map(([name]) => name)).toEqual(c.events);
    // Every revocation went through the ender: the caches heard of it.
    expect(w.revoked).toEqual(c.events.includes('revoked') ? [[SID]] : []);
    // One outcome reported per refresh, named as the metric's attribute names it.
    expect(w.outcomes).toEqual([metricOutcome(c.outcome, c.events)]);
  });
});

/** The `outcome` attribute of `nest_sessions.refreshes` a transition should report. */
function metricOutcome(outcome: string, events: string[]): string {
  if (events.includes('reuse_detected')) return 'reuse_detected';
  if (events.includes('theft_suspected')) return 'theft_suspected';
  const byCode: Record<string, string> = { RATE_LIMITED: 'rate_limited', REAUTHENTICATION_REQUIRED: 'expired', SESSION_REVOKED: 'revoked', SERVICE_UNAVAILABLE: 'error' };
  if (outcome.startsWith('thrown:')) return 'error';
  return outcome === 'rotated' || outcome === 'grace' ? outcome : byCode[outcome] ?? 'invalid';
}

describe('RefreshMachine: what a grant carries', () => {
  it('a rotation hands out the new secret, which is then the current one, and the old one becomes previous', async () => {
    const w = world();
    const { grant } = await outcomeOf(w, cookie(2));
    const next = grant!.refreshToken!;
    expect(next.startsWith(`${SID}.`)).toBe(true);
    expect(next).not.toBe(token(2));
    const row = w.store.rows.get(SID)!;
    expect(row.secretHash.equals(hashRefreshSecret(next.slice(SID.length + 1), PEPPER))).toBe(true);
    expect(row.lineage[0].equals(hash(2))).toBe(true);
    expect(row.rotatedAt).toEqual(new Date(T0));
    // The one before it is now in its grace window; the new one rotates again, and then the
    // first is two generations old: reuse.
    expect((await outcomeOf(w, cookie(2))).outcome).toBe('grace');
    expect((await outcomeOf(w, { token: next, via: 'cookie' })).outcome).toBe('rotated');
    expect((await outcomeOf(w, cookie(2))).outcome).toBe('SESSION_REVOKED');
  });

  it('the access token keeps the session’s absolute end and its last authentication', async () => {
    const w = world();
    await outcomeOf(w, cookie(2));
    await outcomeOf(w, cookie(2));
    for (const call of w.signed) {
      expect(call).toEqual({ user: { id: 'u1', roles: ['member'] }, nowMs: T0, endsAtMs: T0 + 30 * DAY, authenticatedAtMs: T0 - 2 * DAY });
    }
    expect(w.signed).toHaveLength(2);
  });

  it('the CSRF token is bound to the session and the grant says which transport', async () => {
    const { grant } = await outcomeOf(world(), cookie(2));
    expect(verifyCsrfToken(CSRF_KEY, SID, grant!.csrfToken)).toBe(true);
    expect(grant!.transport).toBe('cookie');
    expect(grant!.sessionId).toBe(SID);
  });

  it('the app’s idle timeout moves the end on, capped at the absolute end', async () => {
    const w = world(session({ absoluteExpiresAt: new Date(T0 + 3 * DAY) }));
    const { grant } = await outcomeOf(w, cookie(2));
    expect(grant!.sessionExpiresAt).toEqual(new Date(T0 + 3 * DAY));
    const far = world();
    expect((await outcomeOf(far, cookie(2))).grant!.sessionExpiresAt).toEqual(new Date(T0 + 7 * DAY));
  });

  it('the remember-me profile: a session keeps its own idle timeout and persistent cookies; a short one keeps browser-session cookies', async () => {
    const remembered = world(session({ idleTimeoutMs: 20 * DAY, persistent: true }));
    const long = (await outcomeOf(remembered, cookie(2))).grant!;
    expect(long.sessionExpiresAt).toEqual(new Date(T0 + 20 * DAY));
    expect(long.persistent).toBe(true);
    const short = world(session({ idleTimeoutMs: null, persistent: false }));
    const brief = (await outcomeOf(short, cookie(2))).grant!;
    expect(brief.sessionExpiresAt).toEqual(new Date(T0 + 7 * DAY));
    expect(brief.persistent).toBe(false);
    // The same holds on the compare-and-swap path.
    const slow = world(session({ idleTimeoutMs: 20 * DAY, persistent: false }));
    slow.store.missCurrentOnce = true;
    const viaCas = (await outcomeOf(slow, cookie(2))).grant!;
    expect(viaCas.sessionExpiresAt).toEqual(new Date(T0 + 20 * DAY));
    expect(viaCas.persistent).toBe(false);
  });

  it('a grace answer keeps the session’s end and the client’s refresh token, and counts toward the cap', async () => {
    const w = world();
    for (let i = 0; i < 3; i++) {
      const { outcome, grant } = await outcomeOf(w, cookie(1));
      expect(outcome).toBe('grace');
      expect(grant!.refreshToken).toBeUndefined();
      expect(grant!.sessionExpiresAt).toEqual(new Date(T0 + DAY));
    }
    expect((await outcomeOf(w, cookie(1))).outcome).toBe('RATE_LIMITED');
    expect(w.store.rows.get(SID)!.revokedAt).toBeNull();
  });

  it('the grace window ends at its last millisecond, not before', async () => {
    const w = world();
    w.clock.now = T0 + 5 * SECOND; // rotated 10 s ago exactly
    expect((await outcomeOf(w, cookie(1))).outcome).toBe('grace');
    w.clock.now += 1;
    expect((await outcomeOf(w, cookie(1))).outcome).toBe('SESSION_REVOKED');
  });

  it('a bearer session refreshes from a body', async () => {
    const w = world(session({ transport: 'bearer' }));
    const { outcome, grant } = await outcomeOf(w, { token: token(2), via: 'body' });
    expect(outcome).toBe('rotated');
    expect(grant!.transport).toBe('bearer');
  });

  it('two refreshes of one secret at once: one rotates, the other gets the grace answer', async () => {
    const w = world();
    const results = await Promise.all([outcomeOf(w, cookie(2)), outcomeOf(w, cookie(2))]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['grace', 'rotated']);
    expect(w.store.rows.get(SID)!.generation).toBe(3);
  });
});

describe('RefreshMachine: what it tells the app', () => {
  it('a rotation emits refreshed with the session and its user, on either path', async () => {
    const fast = world(session({ userId: '42', userIdNumeric: true }));
    await outcomeOf(fast, cookie(2));
    const slow = world();
    slow.store.missCurrentOnce = true;
    await outcomeOf(slow, cookie(2));
    expect(fast.events).toEqual([['refreshed', { sessionId: SID, userId: 42, at: new Date(T0) }]]);
    expect(slow.events).toEqual([['refreshed', { sessionId: SID, userId: 'u1', at: new Date(T0) }]]);
  });

  it('the grace cap answers with the seconds left in the window', async () => {
    const w = world(session({ graceHits: 3 }));
    const error = await w.machine.refresh(cookie(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(10);
    const brief = world(session({ graceHits: 3 }), { refreshReuseGraceMs: 300 });
    brief.clock.now = T0 - 4_800; // rotated 200 ms ago, inside the 300 ms window
    const soon = await brief.machine.refresh(cookie(1)).catch((e: unknown) => e);
    expect((soon as RateLimitedError).retryAfterSeconds).toBe(1);
  });

  it('a revocation for the wrong transport is logged with the session and user, never the token', async () => {
    const w = world();
    await outcomeOf(w, { token: token(2), via: 'body' });
    expect(w.warnings).toEqual([`refresh token sent over the wrong transport; session ${SID} of user u1 revoked`]);
    expect(w.warnings.join(' ')).not.toContain(secret(2));
  });

  it('a session that never rotated is judged on its row: no lineage read for a wrong secret', async () => {
    const w = world(session({ lineage: [], generation: 0, rotatedAt: null }));
    const lineage = jest.spyOn(w.store, 'findLineage');
    expect((await outcomeOf(w, cookie(9))).outcome).toBe('UNAUTHENTICATED');
    expect(lineage).not.toHaveBeenCalled();
  });

  it('a compare-and-swap that keeps losing gives up after two reads: SESSION_REVOKED, nothing rotated', async () => {
    const w = world();
    jest.spyOn(w.store, 'rotateCurrent').mockResolvedValue({ outcome: 'not_current' });
    jest.spyOn(w.store, 'rotate').mockResolvedValue(false);
    const reads = jest.spyOn(w.store, 'findForRefresh');
    expect((await outcomeOf(w, cookie(2))).outcome).toBe('SESSION_REVOKED');
    expect(reads).toHaveBeenCalledTimes(2);
    expect(w.store.rows.get(SID)!.generation).toBe(2);
  });
});

describe('RefreshMachine: failure paths keep their promises', () => {
  it('an undo that fails too still answers with the loader failure', async () => {
    const w = world();
    w.loadUser.mockRejectedValueOnce(new Error('down'));
    w.store.failUndo = true;
    expect((await outcomeOf(w, cookie(2))).outcome).toBe('thrown: nest-sessions: the session store is unavailable (loadUser)');
  });

  it('a store failure in the rotation statement is explained once and answers as unavailable', async () => {
    const w = world();
    const failure = new Error('relation "auth_rate_limits" does not exist');
    jest.spyOn(w.store, 'rotateCurrent').mockRejectedValueOnce(failure);
    expect((await outcomeOf(w, cookie(2))).outcome).toBe('thrown: relation "auth_rate_limits" does not exist');
    expect(w.limiter.explainFailure).toHaveBeenCalledWith(failure);
    expect(w.events).toEqual([['refresh_failed', { sessionId: SID, userId: null, at: new Date(T0), code: 'SERVICE_UNAVAILABLE' }]]);
  });

  it('an unparseable token spends the limits on its own and names no session', async () => {
    const w = world();
    await outcomeOf(w, { token: 'x.y', via: 'cookie' });
    expect(w.limiter.refreshAttempt).toHaveBeenCalledWith('203.0.113.9', null);
    expect(w.limiter.spend).toHaveBeenCalledTimes(1);
    expect(w.events).toEqual([['refresh_failed', { sessionId: null, userId: null, at: new Date(T0), code: 'UNAUTHENTICATED' }]]);
  });

  it('limits are counted per session id and spent inside the rotation, refused with the database’s state', async () => {
    const w = world();
    w.store.limitedAt = 0;
    await outcomeOf(w, cookie(2));
    expect(w.limiter.refreshAttempt).toHaveBeenCalledWith('203.0.113.9', SID);
    expect(w.limiter.spend).not.toHaveBeenCalled();
    expect(w.limiter.refusedInline).toHaveBeenCalledWith(expect.objectContaining({ key: 'k' }), null, T0);
  });

  it('a refusal the client earned charges the failure to the address before it is answered; a rotation, a grace refresh and a store failure do not', async () => {
    const refused = world();
    await outcomeOf(refused, cookie(0));
    expect(refused.limiter.chargeFailed).toHaveBeenCalledTimes(1);
    const limited = world();
    limited.store.limitedAt = 0;
    await outcomeOf(limited, cookie(2));
    expect(limited.limiter.chargeFailed).toHaveBeenCalledTimes(1);
    const rotated = world();
    expect((await outcomeOf(rotated, cookie(2))).outcome).toBe('rotated');
    expect((await outcomeOf(rotated, cookie(2))).outcome).toBe('grace');
    const failing = world();
    jest.spyOn(failing.store, 'rotateCurrent').mockRejectedValueOnce(new Error('connection reset'));
    await outcomeOf(failing, cookie(2));
    for (const w of [rotated, failing]) expect(w.limiter.chargeFailed).not.toHaveBeenCalled();
  });

  it('a secret the rotation did not rotate pays the session\'s own limit before it is classified (a grace answer too); a rotation pays in its update; a limit refused there pays nothing more', async () => {
    const rotated = world();
    expect((await outcomeOf(rotated, cookie(2))).outcome).toBe('rotated');
    expect(rotated.limiter.spendInRow).not.toHaveBeenCalled();
    expect((await outcomeOf(rotated, cookie(2))).outcome).toBe('grace');
    expect(rotated.limiter.spendInRow).toHaveBeenCalledTimes(1);
    const wrong = world();
    wrong.limiter.spendInRow.mockImplementationOnce(async () => {
      throw new RateLimitedError(3);
    });
    expect((await outcomeOf(wrong, cookie(0))).outcome).toBe('RATE_LIMITED');
    expect(wrong.events.some(([name]) => name === 'reuse_detected')).toBe(false);
    const limited = world();
    limited.store.limitedAt = 0;
    await outcomeOf(limited, cookie(2));
    expect(limited.limiter.spendInRow).not.toHaveBeenCalled();
  });

  it('the failure event names the session and its user once the row was read', async () => {
    const w = world(session({ userId: '42', userIdNumeric: true }));
    w.clock.now = T0 + MINUTE;
    await outcomeOf(w, cookie(0));
    expect(w.events.at(-1)).toEqual(['refresh_failed', { sessionId: SID, userId: 42, at: new Date(T0 + MINUTE), code: 'SESSION_REVOKED' }]);
    expect(w.events.find(([name]) => name === 'reuse_detected')![1]).toEqual({ sessionId: SID, userId: 42, at: new Date(T0 + MINUTE) });
    expect(w.warnings).toEqual([`refresh token reuse detected; session ${SID} of user 42 revoked`]);
  });
});

describe('RefreshMachine.sessionOf (logout by refresh token)', () => {
  it.each([
    ['the current secret', token(2), SID],
    ['the previous secret', token(1), SID],
    ['an older secret', token(0), SID],
    ['a secret never issued', token(9), null],
    ['an unknown session', token(2, OTHER_SID), null],
    ['not a token', 'garbage', null],
  ])('%s', async (_name, presented, expected) => {
    const w = world();
    expect(await w.machine.sessionOf({ token: presented, via: 'cookie' })).toBe(expected);
    expect(w.store.rows.get(SID)!.revokedAt).toBeNull();
  });

  it('nothing presented', async () => {
    expect(await world().machine.sessionOf(null)).toBeNull();
  });
});

describe('decideRefresh', () => {
  const row = (overrides: Partial<RefreshRow> = {}): RefreshRow => {
    const { lineage, graceHits: _g, ...rest } = session();
    return { ...rest, previousHash: lineage[0], ...overrides };
  };
  const at = T0;
  it.each<[string, RefreshRow | null, SecretMatch, 'cookie' | 'body', number, string]>([
    ['no row', null, 'current', 'cookie', at, 'unknown'],
    ['no match', row(), null, 'cookie', at, 'unknown'],
    ['revoked', row({ revokedAt: new Date(at), revokeReason: 'revoked' }), 'current', 'cookie', at, 'ended:false'],
    ['ran out (absolute)', row({ revokedAt: new Date(at), revokeReason: 'absolute_timeout' }), 'current', 'cookie', at, 'ended:true'],
    ['ran out (idle)', row({ revokedAt: new Date(at), revokeReason: 'idle_timeout' }), 'older', 'body', at, 'ended:true'],
    ['idle end reached', row({ expiresAt: new Date(at) }), 'current', 'cookie', at, 'expired:idle_timeout'],
    ['one ms before the idle end', row({ expiresAt: new Date(at + 1) }), 'current', 'cookie', at, 'rotate'],
    ['absolute end reached', row({ expiresAt: new Date(at), absoluteExpiresAt: new Date(at) }), 'previous', 'cookie', at, 'expired:absolute_timeout'],
    ['previous in grace', row(), 'previous', 'cookie', at, 'grace'],
    ['previous, never rotated', row({ rotatedAt: null }), 'previous', 'cookie', at, 'reuse'],
    ['previous past grace', row(), 'previous', 'cookie', at + 5 * SECOND + 1, 'reuse'],
    ['older', row(), 'older', 'cookie', at, 'reuse'],
    ['reuse over the wrong transport is reuse', row(), 'older', 'body', at, 'reuse'],
    ['current over the wrong transport', row(), 'current', 'body', at, 'transport_mismatch'],
    ['previous in grace over the wrong transport', row(), 'previous', 'body', at, 'transport_mismatch'],
    ['bearer current from a body', row({ transport: 'bearer' }), 'current', 'body', at, 'rotate'],
  ])('%s', (_name, r, match, via, nowMs, expected) => {
    const d = decideRefresh(r, match, via, nowMs, 10 * SECOND);
    const label = d.kind === 'ended' ? `ended:${d.ranOut}` : d.kind === 'expired' ? `expired:${d.reason}` : d.kind;
    expect(label).toBe(expected);
  });

  it('a zero grace window has no grace, even in the millisecond of the rotation', () => {
    expect(decideRefresh(row({ rotatedAt: new Date(T0) }), 'previous', 'cookie', T0, 0).kind).toBe('reuse');
    expect(decideRefresh(row({ rotatedAt: new Date(T0) }), 'previous', 'cookie', T0, 1).kind).toBe('grace');
  });
});
