import { type CanActivate, type ExecutionContext, HttpException, HttpStatus, Injectable, mixin, type OnModuleInit, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { SessionConfigError } from '../errors/session-config-error';

/** One guard's refusal: what it threw, or `false`. */
type Refusal = { error: unknown } | { denied: true };

/**
 * A guard that admits a request when any of `guards` does, tried in order: "a session OR an API
 * key" without forking either. The first guard that admits wins and its user is the one the
 * handler sees; the others are not run.
 *
 * When all refuse, the answer is the first refusal that says something: an expired access token
 * (`ACCESS_TOKEN_EXPIRED`, the client should refresh), a revoked session, an unavailable store
 * (503), a wrong API key with its own code. A bare "no credentials" (the library's
 * `UNAUTHENTICATED`, or a 401 without a `code`, such as passport's `UnauthorizedException`) only
 * answers when every guard's refusal was bare, so a client that sent an API key is not told it
 * lacks a session, nor the reverse; then the library's `UNAUTHENTICATED` is preferred to a
 * code-less 401, so the body keeps its stable code.
 *
 * Each guard is the app's instance when one is registered (`SessionGuard`, provided by
 * `SessionModule`, with its verified-token cache), else one made for this guard with the host
 * module's providers (`AuthGuard('api-key')` from `@nestjs/passport`). The guards are plain
 * guards, so the pattern works on HTTP routes and GraphQL resolvers alike, and `CsrfGuard`,
 * `RolesGuard`, `@CurrentUser()` compose with it unchanged.
 *
 * @example
 * @UseGuards(AnyGuard(SessionGuard, AuthGuard('api-key')), RolesGuard)
 * @Roles('admin', 'service')
 * @Get('stats') stats(@CurrentUser() caller: SessionUser) {}
 */
export function AnyGuard(...guards: Type<CanActivate>[]): Type<CanActivate> {
  if (guards.length === 0 || guards.some((guard) => typeof guard !== 'function')) {
    throw new SessionConfigError('AnyGuard(...) takes one or more guard classes.');
  }

  @Injectable()
  class AnyOfGuards implements CanActivate, OnModuleInit {
    private instances: CanActivate[] | undefined;
    private resolving: Promise<CanActivate[]> | undefined;

    constructor(private readonly moduleRef: ModuleRef) {}

    /** Resolves the guards at start-up, so that the first request pays nothing and a guard that cannot be built fails the boot. */
    async onModuleInit(): Promise<void> {
      await this.resolve();
    }

    canActivate(context: ExecutionContext): boolean | Promise<boolean> {
      if (this.instances) return tryFrom(this.instances, 0, context, []);
      return this.resolve().then((instances) => tryFrom(instances, 0, context, []));
    }

    private resolve(): Promise<CanActivate[]> {
      this.resolving ??= Promise.all(guards.map((guard) => this.instanceOf(guard))).then((instances) => (this.instances = instances));
      return this.resolving;
    }

    private async instanceOf(guard: Type<CanActivate>): Promise<CanActivate> {
      try {
        return this.moduleRef.get(guard, { strict: false });
      } catch {
        return this.moduleRef.create(guard);
      }
    }
  }

  return mixin(AnyOfGuards);
}

/**
 * Runs `guards[index]` and, on a refusal, the next ones. Synchronous while the guards are (a
 * `SessionGuard` cache hit stays a plain `true`); a guard's promise or observable makes the rest
 * asynchronous.
 */
function tryFrom(guards: CanActivate[], index: number, context: ExecutionContext, refusals: Refusal[]): boolean | Promise<boolean> {
  for (let i = index; i < guards.length; i++) {
    let result: ReturnType<CanActivate['canActivate']>;
    try {
      result = guards[i].canActivate(context);
    } catch (error) {
      refusals.push({ error });
      continue;
    }
    if (result === true) return true;
    if (result === false) {
      refusals.push({ denied: true });
      continue;
    }
    const pending = isObservable(result) ? lastValueFrom(result, { defaultValue: false }) : Promise.resolve(result);
    return pending.then(
      (admitted) => (admitted === true ? true : tryFrom(guards, i + 1, context, [...refusals, { denied: true }])),
      (error: unknown) => tryFrom(guards, i + 1, context, [...refusals, { error }]),
    );
  }
  return refuse(refusals);
}

/**
 * Throws the first refusal that says something; else the first bare one with a stable `code`
 * (the library's `UNAUTHENTICATED` rather than passport's code-less 401), else the first bare
 * one; `false` when no guard threw.
 */
function refuse(refusals: Refusal[]): false {
  const thrown = refusals.filter((refusal): refusal is { error: unknown } => 'error' in refusal).map((refusal) => refusal.error);
  const telling = thrown.find((error) => !isBare(error));
  if (telling !== undefined) throw telling;
  const coded = thrown.find((error) => codeOf(error) !== undefined);
  if (coded !== undefined) throw coded;
  if (thrown.length > 0) throw thrown[0];
  return false;
}

/** The stable code an error carries: a library error's (HTTP or GraphQL), or an `HttpException` body's. */
function codeOf(error: unknown): string | undefined {
  const own = (error as { code?: unknown } | null)?.code;
  if (typeof own === 'string') return own;
  if (!(error instanceof HttpException)) return undefined;
  const body = error.getResponse() as { code?: unknown } | string;
  return typeof body === 'object' && body !== null && typeof body.code === 'string' ? body.code : undefined;
}

/**
 * A refusal that only says "no (usable) credentials": the library's `UNAUTHENTICATED` (over HTTP
 * or as a GraphQL error), or an HTTP 401 without a `code` of its own.
 */
function isBare(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined) return code === 'UNAUTHENTICATED';
  return error instanceof HttpException && error.getStatus() === HttpStatus.UNAUTHORIZED;
}
