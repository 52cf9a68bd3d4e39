import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { ACCESS, CSRF, REFRESH } from './browser';

/**
 * The log-hygiene sweep's tools (docs/security.md case 48): an index of every secret a test run
 * handled, cut into fixed-length windows, so that a log line leaking even part of one is caught;
 * a recorder that feeds it every credential that crossed the app's HTTP boundary; and a capture
 * of what reached the console, stdout and stderr.
 */

/** A leak of 16 characters is a leak: a quarter of a refresh secret, more than any id fragment. */
export const WINDOW = 16;

/**
 * Session ids are logged on purpose (the reuse warning, every SessionAudit line), and a refresh
 * token or cookie embeds its session id: windows that lie wholly inside one are not secret. Any
 * letter case: a mutated token with one letter of its id flipped still shares the rest with the logs.
 */
const PUBLIC_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export interface Finding {
  line: number;
  source: string;
  /** What the line matched, never the matching text: the report must not repeat the secret. */
  kinds: string[];
}

export class SecretIndex {
  private readonly values = new Map<string, Set<string>>();
  private windows: Map<string, Set<string>> | null = null;

  /** Values shorter than a window cannot be told from ordinary text (`Bearer`, `x`) and are skipped. */
  add(kind: string, value: string | undefined | null): void {
    if (typeof value !== 'string' || value.length < WINDOW) return;
    const kinds = this.values.get(value) ?? new Set<string>();
    kinds.add(kind);
    this.values.set(value, kinds);
    this.windows = null;
  }

  /** A refresh token, and its secret part under its own kind. */
  addRefreshToken(kind: string, token: string | undefined | null): void {
    if (typeof token !== 'string') return;
    this.add(kind, token);
    const dot = token.indexOf('.');
    if (dot >= 0) this.add(kind.replace(/token/, 'secret'), token.slice(dot + 1));
  }

  get secretCount(): number {
    return this.values.size;
  }

  get windowCount(): number {
    return this.build().size;
  }

  /** Distinct values per kind, for the report. */
  countsByKind(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const kinds of this.values.values()) for (const kind of kinds) counts[kind] = (counts[kind] ?? 0) + 1;
    return counts;
  }

  private build(): Map<string, Set<string>> {
    if (this.windows) return this.windows;
    const windows = new Map<string, Set<string>>();
    for (const [value, kinds] of this.values) {
      const publicSpans = [...value.matchAll(PUBLIC_ID)].map((m) => [m.index!, m.index! + m[0].length] as const);
      for (let i = 0; i + WINDOW <= value.length; i++) {
        if (publicSpans.some(([from, to]) => i >= from && i + WINDOW <= to)) continue;
        const piece = value.slice(i, i + WINDOW);
        const known = windows.get(piece);
        if (known) for (const kind of kinds) known.add(kind);
        else windows.set(piece, new Set(kinds));
      }
    }
    this.windows = windows;
    return windows;
  }

  /** Slides a window over every line; one finding per line, naming every kind it matched. */
  scan(lines: Array<{ source: string; text: string }>): Finding[] {
    const windows = this.build();
    const findings: Finding[] = [];
    lines.forEach(({ source, text }, line) => {
      const kinds = new Set<string>();
      for (let i = 0; i + WINDOW <= text.length; i++) {
        const hit = windows.get(text.slice(i, i + WINDOW));
        if (hit) for (const kind of hit) kinds.add(kind);
      }
      if (kinds.size > 0) findings.push({ line, source, kinds: [...kinds].sort() });
    });
    return findings;
  }
}

const COOKIE_KINDS: Record<string, string> = { [ACCESS]: 'access token', [REFRESH]: 'refresh token', [CSRF]: 'CSRF token' };

/**
 * Records every credential that crosses an app's HTTP boundary, whichever helper sent the request:
 * the Cookie, Authorization and x-csrf-token headers the app received, and the Set-Cookie headers
 * and body tokens it answered. Listening on the server side means no request can bypass it.
 */
export class HttpSecretRecorder {
  requests = 0;
  private readonly bodies = new WeakMap<ServerResponse, Buffer[]>();
  private readonly spies: jest.SpyInstance[] = [];

  constructor(private readonly index: SecretIndex) {}

  watch(server: Server): void {
    server.prependListener('request', (req: IncomingMessage) => {
      this.requests++;
      const { cookie, authorization } = req.headers;
      if (cookie) {
        this.index.add('Cookie header', cookie);
        for (const pair of cookie.split(';')) this.cookieValue(pair);
      }
      if (authorization) {
        this.index.add('Authorization header', authorization);
        this.index.add('access token', /^Bearer\s+(.*)$/i.exec(authorization)?.[1]);
      }
      const csrf = req.headers['x-csrf-token'];
      this.index.add('CSRF token', Array.isArray(csrf) ? csrf.join(', ') : csrf);
    });
  }

  /** Patches ServerResponse for the run: Express sets headers before writeHead, Fastify passes them to it. */
  start(): void {
    const proto = ServerResponse.prototype;
    const recorder = this;
    const writeHead = proto.writeHead;
    const write = proto.write;
    const end = proto.end;
    this.spies.push(
      jest.spyOn(proto, 'writeHead').mockImplementation(function (this: ServerResponse, ...args: unknown[]) {
        recorder.setCookies(this.getHeader('set-cookie'));
        for (const arg of args.slice(1)) recorder.setCookies(headerFrom(arg, 'set-cookie'));
        return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
      } as typeof proto.writeHead),
      jest.spyOn(proto, 'write').mockImplementation(function (this: ServerResponse, ...args: unknown[]) {
        recorder.chunk(this, args[0]);
        return (write as (...a: unknown[]) => boolean).apply(this, args);
      } as typeof proto.write),
      jest.spyOn(proto, 'end').mockImplementation(function (this: ServerResponse, ...args: unknown[]) {
        if (typeof args[0] !== 'function') recorder.chunk(this, args[0]);
        recorder.body(this);
        return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
      } as typeof proto.end),
    );
  }

  stop(): void {
    this.spies.splice(0).forEach((s) => s.mockRestore());
  }

  private cookieValue(pair: string): void {
    const eq = pair.indexOf('=');
    if (eq < 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (name === REFRESH) this.index.addRefreshToken('refresh token', value);
    else this.index.add(COOKIE_KINDS[name] ?? 'cookie value', value);
  }

  private setCookies(header: unknown): void {
    for (const h of Array.isArray(header) ? header : header === undefined ? [] : [header]) {
      const text = String(h);
      this.index.add('Set-Cookie header', text);
      this.cookieValue(text.split(';')[0]);
    }
  }

  private chunk(res: ServerResponse, chunk: unknown): void {
    if (chunk === undefined || chunk === null) return;
    const parts = this.bodies.get(res) ?? [];
    parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    this.bodies.set(res, parts);
  }

  private body(res: ServerResponse): void {
    const parts = this.bodies.get(res);
    this.bodies.delete(res);
    if (!parts) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch {
      return;
    }
    const visit = (value: unknown, depth: number): void => {
      if (!value || typeof value !== 'object' || depth > 4) return;
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'accessToken' && typeof inner === 'string') this.index.add('access token', inner);
        else if (key === 'refreshToken' && typeof inner === 'string') this.index.addRefreshToken('refresh token', inner);
        else if (key === 'csrfToken' && typeof inner === 'string') this.index.add('CSRF token', inner);
        else visit(inner, depth + 1);
      }
    };
    visit(parsed, 0);
  }
}

/** A header from writeHead's headers argument: an object, or a flat [name, value, ...] array. */
function headerFrom(headers: unknown, name: string): unknown {
  if (Array.isArray(headers)) {
    const found: unknown[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) found.push(headers[i + 1]);
    return found.flat();
  }
  if (headers && typeof headers === 'object') {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : (headers as Record<string, unknown>)[key];
  }
  return undefined;
}

/** What reached console.*, stdout and stderr while it ran (passed on to the real streams too). */
export class OutputCapture {
  readonly lines: string[] = [];
  private readonly spies: jest.SpyInstance[] = [];

  start(): void {
    for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      this.spies.push(jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void this.lines.push(args.map(String).join(' '))));
    }
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      this.spies.push(
        jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
          this.lines.push(String(chunk));
          return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
        }) as typeof stream.write),
      );
    }
  }

  stop(): void {
    this.spies.splice(0).forEach((s) => s.mockRestore());
  }
}
