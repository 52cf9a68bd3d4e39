// The soak's load: simulated users, each with a bearer session and an open socket, through HAProxy,
// at a fixed total request rate: guarded REST and GraphQL reads (about 90 %), refreshes (8 %),
// logouts followed by a login (2 %). Choices come from a seeded generator, so a run can be replayed.
// A user has one request in flight at a time and only ever presents its latest refresh token; a
// request lost to a fault is retried as a client would, with the same token.
import { io } from 'socket.io-client';

const PASSWORD = 'soak password 0123456789';
const TIMEOUT_MS = 10_000;

/** mulberry32: small, fast and good enough to choose requests. */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A response's status as the plots count it ('5xx' for any server error, 'error' for no answer). */
const statusOf = (res) => (res === null ? 'error' : res.status >= 500 ? '5xx' : String(res.status));

async function call(url, path, { method = 'GET', body, token } = {}) {
  const headers = { 'x-session-transport': 'bearer' };
  if (body) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    const res = await fetch(`${url}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: an HTML error page from the proxy
    }
    return { status: res.status, body: json };
  } catch {
    return null;
  }
}

export class Load {
  /** `record(kind, status)` is called for every response; `now()` is seconds since the run began. */
  constructor({ url, users, rate, seed, now, record }) {
    Object.assign(this, { url, rate, now, record });
    this.random = seeded(seed);
    this.users = Array.from({ length: users }, (_, i) => ({ i, email: `soak-${seed}-${i}@example.test`, busy: false, chain: null, socket: null }));
    this.chains = [];
    this.sockets = { opened: 0, endedBySession: 0 };
    this.timer = null;
  }

  /** Registers and logs in every user, and opens their sockets. */
  async setUp() {
    for (const user of this.users) {
      const reg = await call(this.url, '/auth/register', { method: 'POST', body: { email: user.email, password: PASSWORD } });
      if (reg?.status !== 201) throw new Error(`register ${user.email}: ${reg?.status} ${JSON.stringify(reg?.body)}`);
      if (!(await this.login(user))) throw new Error(`login ${user.email} failed`);
    }
    await Promise.all(this.users.map((u) => this.openSocket(u)));
  }

  start() {
    this.timer = setInterval(() => this.tick(), 1000 / this.rate);
  }

  async stop() {
    clearInterval(this.timer);
    await this.waitIdle(TIMEOUT_MS * 2);
    for (const user of this.users) user.socket?.close();
  }

  async waitIdle(limitMs) {
    const until = Date.now() + limitMs;
    while (this.users.some((u) => u.busy) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }

  tick() {
    // A free user, if any is free after a few tries: the rate is for the whole population.
    let user = null;
    for (let tries = 0; tries < 5 && !user; tries++) {
      const candidate = this.users[Math.floor(this.random() * this.users.length)];
      if (!candidate.busy) user = candidate;
    }
    if (!user) return;
    const roll = this.random();
    user.busy = true;
    const op = roll < 0.45 ? this.read(user, 'rest') : roll < 0.9 ? this.read(user, 'graphql') : roll < 0.98 ? this.refresh(user) : this.relogin(user);
    op.catch(() => undefined).finally(() => (user.busy = false));
  }

  /**
   * Up to `count` free users refresh at once (for a fault to land among refreshes in flight);
   * resolves as soon as they are sent.
   */
  burstRefresh(count) {
    const free = this.users.filter((u) => !u.busy).slice(0, count);
    for (const user of free) {
      user.busy = true;
      this.refresh(user)
        .catch(() => undefined)
        .finally(() => (user.busy = false));
    }
    return free.length;
  }

  async login(user) {
    const res = await this.retrying('login', () => call(this.url, '/auth/login', { method: 'POST', body: { email: user.email, password: PASSWORD } }));
    if (res?.status !== 200) return false;
    user.access = res.body.accessToken;
    user.refreshToken = res.body.refreshToken;
    // The session id is the refresh token's first part: it ties a revocation in the table to its chain.
    user.chain = { user: user.i, sessionId: user.refreshToken.split('.')[0], startedAtS: this.now(), refreshes: 0, end: null, lostAnswer: false };
    this.chains.push(user.chain);
    return true;
  }

  async read(user, kind) {
    if (!user.socket?.connected) void this.openSocket(user);
    const res =
      kind === 'rest'
        ? await call(this.url, '/me', { token: user.access })
        : await call(this.url, '/graphql', { method: 'POST', token: user.access, body: { query: '{ me { id } }' } });
    // GraphQL answers a resolver's error with HTTP 200: its status is in the error's extensions.
    const graphqlStatus = kind === 'graphql' ? res?.body?.errors?.[0]?.extensions?.statusCode : undefined;
    this.record(kind, typeof graphqlStatus === 'number' ? statusOf({ status: graphqlStatus }) : statusOf(res));
    const code = kind === 'rest' ? res?.body?.code : res?.body?.errors?.[0]?.extensions?.code;
    if (code === 'ACCESS_TOKEN_EXPIRED') await this.refresh(user);
    else if (code === 'SESSION_REVOKED') await this.chainEnded(user, code);
  }

  async refresh(user) {
    const presented = user.refreshToken;
    let attempts = 0;
    const res = await this.retrying('refresh', () => ((attempts += 1), call(this.url, '/auth/refresh', { method: 'POST', body: { refreshToken: presented } })));
    if (res?.status === 200) {
      user.access = res.body.accessToken;
      if (res.body.refreshToken) user.refreshToken = res.body.refreshToken;
      // A retry answered from the grace window: the first attempt rotated and its answer was lost.
      // The client keeps a secret that is reuse once the window has passed (by design: the
      // new secret cannot be handed out again, only its hash is stored).
      else if (attempts > 1) user.chain.lostAnswer = true;
      user.chain.refreshes += 1;
      return;
    }
    if (res && res.status >= 400 && res.status < 500) await this.chainEnded(user, res.body?.code ?? `HTTP_${res.status}_WITHOUT_CODE`);
  }

  async relogin(user) {
    const res = await call(this.url, '/auth/logout', { method: 'POST', body: { refreshToken: user.refreshToken } });
    this.record('logout', statusOf(res));
    user.chain.end = 'logout';
    await this.login(user);
    if (user.socket?.connected) user.socket.disconnect();
    void this.openSocket(user);
  }

  async chainEnded(user, code) {
    user.chain.end = code;
    // The one ending the driver can explain: reuse after a lost rotation answer (see refresh()).
    user.chain.explained = code === 'SESSION_REVOKED' && user.chain.lostAnswer;
    await this.login(user);
  }

  /** A request retried after a lost answer (no response or a 5xx), as a client would: up to 3 more times, a second apart. */
  async retrying(kind, request) {
    let res = null;
    for (let attempt = 0; attempt < 4; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
      res = await request();
      this.record(kind, statusOf(res));
      if (res && res.status < 500) return res;
    }
    return res;
  }

  openSocket(user) {
    if (user.socketOpening || !user.access) return Promise.resolve();
    user.socketOpening = true;
    user.socket?.close();
    const socket = io(`${this.url}/events`, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5_000, auth: { token: user.access } });
    user.socket = socket;
    socket.on('session.ended', () => (this.sockets.endedBySession += 1));
    return new Promise((resolve) => {
      const done = () => ((user.socketOpening = false), resolve());
      socket.once('session', () => ((this.sockets.opened += 1), done()));
      socket.once('connect_error', done);
      setTimeout(done, 5_000).unref();
    });
  }

  /** Session ids of the chains left on a secret whose rotation answer was lost. */
  lostAnswerSessions() {
    return new Set(this.chains.filter((c) => c.lostAnswer).map((c) => c.sessionId));
  }

  /** Every chain: continued (still open, or ended by its user's logout), ended with a stable code, or broken. */
  chainSummary() {
    const endedWithCode = {};
    let continued = 0;
    let broken = 0;
    for (const chain of this.chains) {
      if (chain.end === null || chain.end === 'logout') continued += 1;
      else if (/^[A-Z_]+$/.test(chain.end) && !chain.end.startsWith('HTTP_')) endedWithCode[chain.end] = (endedWithCode[chain.end] ?? 0) + 1;
      else broken += 1;
    }
    const unexpected = this.chains.filter((c) => c.end !== null && c.end !== 'logout' && !c.explained).length;
    return { users: this.users.length, chains: this.chains.length, continued, endedWithCode, broken, unexpected, lostAnswers: this.chains.filter((c) => c.lostAnswer).length };
  }
}
