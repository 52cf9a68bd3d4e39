import type { RequestLike } from './http-types';

type Module = typeof import('./request-origin');

let warnings: string[] = [];

/** A fresh copy of the module (the hint is said once per process), its Logger's warnings recorded. */
function freshModule(): Module {
  let loaded: Module | undefined;
  jest.isolateModules(() => {
    const { Logger } = require('@nestjs/common') as typeof import('@nestjs/common');
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    loaded = require('./request-origin') as Module;
  });
  return loaded!;
}

const policy = { appOrigin: null, trustedOrigins: new Set<string>() };
const behindRewritingProxy = (origin: string, extra: Record<string, string> = {}): RequestLike =>
  ({ headers: { host: 'upstream:3000', origin, 'x-forwarded-host': 'app.example.com', ...extra }, protocol: 'http' }) as unknown as RequestLike;

describe('isAllowedOrigin behind a proxy that rewrites Host', () => {
  beforeEach(() => {
    warnings = [];
  });
  afterEach(() => jest.restoreAllMocks());

  it('refuses the forwarded origin and says once what to set, naming no header value', () => {
    const { isAllowedOrigin } = freshModule();
    expect(isAllowedOrigin(behindRewritingProxy('https://app.example.com'), policy)).toBe(false);
    expect(isAllowedOrigin(behindRewritingProxy('https://app.example.com'), policy)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('csrf.appOrigin');
    expect(warnings[0]).toContain('trust');
    expect(warnings[0]).not.toMatch(/app\.example\.com|upstream/);
  });

  it.each<[string, RequestLike]>([
    ['another site\'s origin', behindRewritingProxy('https://evil.example')],
    ['no X-Forwarded-Host', { headers: { host: 'upstream:3000', origin: 'https://app.example.com' }, protocol: 'http' } as unknown as RequestLike],
    ['X-Forwarded-Host equal to Host', { headers: { host: 'app.example.com', origin: 'https://other.example', 'x-forwarded-host': 'app.example.com' }, protocol: 'http' } as unknown as RequestLike],
    ['an origin that is not a URL', behindRewritingProxy('null')],
  ])('says nothing for a refusal that is not the rewritten Host: %s', (_label, req) => {
    const { isAllowedOrigin } = freshModule();
    expect(isAllowedOrigin(req, policy)).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('says nothing when csrf.appOrigin is configured (the Host is not used)', () => {
    const { isAllowedOrigin } = freshModule();
    expect(isAllowedOrigin(behindRewritingProxy('https://app.example.com'), { ...policy, appOrigin: 'https://app.example.com' })).toBe(true);
    expect(isAllowedOrigin(behindRewritingProxy('https://app.example.com'), { ...policy, appOrigin: 'https://elsewhere.example' })).toBe(false);
    expect(warnings).toEqual([]);
  });
});
