import { isIPv6 } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { RateLimitedError, SessionHttp, SessionRateLimiter, type RateLimit, type RequestLike, type ResponseLike } from 'nest-sessions';
import { MAX_RATE_LIMIT, normaliseEmail, sampleConfig, type SampleConfig } from '../config/sample-config';

/**
 * How many times the per-account login limit the account takes from all addresses together. A
 * limit per account alone lets anyone lock the owner out with a few wrong passwords a minute
 * from anywhere; per account and address, the owner's own address keeps its attempts, and only an
 * attacker with this many addresses' worth of attempts reaches the account-wide ceiling.
 */
export const ACCOUNT_CEILING_FACTOR = 20;

/**
 * Login and register limits, per client address (as `TRUST_PROXY` resolves it) and per account,
 * on the library's rate limiter: its store is the app's Postgres, so every instance counts
 * together. Over a limit: 429 `RATE_LIMITED` with `Retry-After`.
 */
@Injectable()
export class AuthRateLimits {
  constructor(
    private readonly limiter: SessionRateLimiter,
    private readonly http: SessionHttp,
    @Inject(sampleConfig.KEY) private readonly config: SampleConfig,
  ) {}

  /** Per address; per account from that address; per account from every address (the ceiling). */
  login(req: RequestLike, res: ResponseLike, email: string): Promise<void> {
    const { loginPerIp, loginPerAccount } = this.config.authRateLimits;
    const ip = this.ip(req);
    const account = normaliseEmail(email);
    return this.spend(
      res,
      [`login:ip:${ip}`, { ...loginPerIp, name: 'login_ip' }],
      [`login:account:${account}:ip:${ip}`, { ...loginPerAccount, name: 'login_account_ip' }],
      // Capped: a per-account limit that high (a benchmark's) leaves no ceiling to speak of anyway.
      [`login:account:${account}`, { ...loginPerAccount, limit: Math.min(loginPerAccount.limit * ACCOUNT_CEILING_FACTOR, MAX_RATE_LIMIT), name: 'login_account' }],
    );
  }

  register(req: RequestLike, res: ResponseLike, email: string): Promise<void> {
    const limits = this.config.authRateLimits;
    return this.spend(
      res,
      [`register:ip:${this.ip(req)}`, { ...limits.registerPerIp, name: 'register_ip' }],
      [`register:account:${normaliseEmail(email)}`, { ...limits.registerPerAccount, name: 'register_account' }],
    );
  }

  /** A re-authentication spends the account's login attempts, keyed by user id. */
  reauthenticate(req: RequestLike, res: ResponseLike, userId: string): Promise<void> {
    const limits = this.config.authRateLimits;
    return this.spend(res, [`login:ip:${this.ip(req)}`, limits.loginPerIp], [`reauthenticate:account:${userId}`, limits.loginPerAccount]);
  }

  /**
   * The client's address as the limits count it: an IPv6 client by its /64, the block one host or
   * home network is given (counting each of its addresses apart would give it billions of budgets).
   */
  private ip(req: RequestLike): string {
    return addressKey(this.http.clientOf(req).ip ?? 'unknown');
  }

  private async spend(res: ResponseLike, ...limits: Array<[string, RateLimit]>): Promise<void> {
    try {
      for (const [key, limit] of limits) await this.limiter.consume(key, limit);
    } catch (error) {
      if (error instanceof RateLimitedError) this.http.retryAfter(res, error.retryAfterSeconds);
      throw error;
    }
  }
}

/** IPv4 as it is; IPv6 (not IPv4-mapped) by its first four groups, the /64 network. */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  if (!isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
