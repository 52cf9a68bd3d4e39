import { type CanActivate, type ExecutionContext, HttpException, HttpStatus, Injectable, Logger, mixin, type OnModuleInit, Scope, type Type } from '@nestjs/common';
import { SCOPE_OPTIONS_METADATA } from '@nestjs/common/constants';
import { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { SessionConfigError } from '../errors/session-config-error';
import { SessionGuard } from './session.guard';

/** One guard's refusal: what it threw, or a falsy answer. */
type Refusal = { error: unknown } | { denied: true };

/** How a composed guard is asked: `SessionGuard` authenticates whatever `@Public()` says (see `SessionGuard.authenticate`). */
type Check = (context: ExecutionContext) => ReturnType<CanActivate['canActivate']>;

const logger = new Logger('AnyGuard');

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
 * code-less 401, so the body keeps its stable code. An error that is not an HTTP one (a guard's
 * bug) answers only when nothing else did, and is logged by class name.
 *
 * `@Public()` on the route exempts it from a global `SessionGuard` (which a key-only request
 * could not pass); the `SessionGuard` inside `AnyGuard` authenticates regardless.
 *
 * Each guard is the host module's provider when it has one, else one built for this guard with
 * the host module's providers, as `@UseGuards(...)` builds its guards. Singleton guards only: a
 * request-scoped one is refused at start-up. The guards are plain guards, so the pattern works on
 * HTTP routes and GraphQL resolvers alike, and `CsrfGuard`, `RolesGuard`, `@CurrentUser()`
 * compose with it unchanged.
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
  for (const guard of guards) {
    const scope = (Reflect.getMetadata(SCOPE_OPTIONS_METADATA, guard) as { scope?: Scope } | undefined)?.scope;
    if (scope !== undefined && scope !== Scope.DEFAULT) {
      throw new SessionConfigError(`AnyGuard(...) takes singleton guards; ${guard.name} is ${scope === Scope.REQUEST ? 'request' : 'transient'}-scoped.`);
    }
  }

  @Injectable()
  class AnyOfGuards implements CanActivate, OnModuleInit {
    private checks: Check[] | undefined;
    private resolving: Promise<Check[]> | undefined;

    constructor(private readonly moduleRef: ModuleRef) {}

    /** Resolves the guards at start-up, so that the first request pays nothing and a guard that cannot be built fails the boot. */
    async onModuleInit(): Promise<void> {
      await this.resolve();
    }

    canActivate(context: ExecutionContext): boolean | Promise<boolean> {
      if (this.checks) return tryFrom(this.checks, 0, context, []);
      return this.resolve().then((checks) => tryFrom(checks, 0, context, []));
    }

    private resolve(): Promise<Check[]> {
      this.resolving ??= Promise.all(guards.map((guard) => this.instanceOf(guard))).then((instances) => {
        this.checks = instances.map((guard): Check => (guard instanceof SessionGuard ? (c) => guard.authenticate(c) : (c) => guard.canActivate(c)));
        return this.checks;
      });
      return this.resolving;
    }

    private async instanceOf(guard: Type<CanActivate>): Promise<CanActivate> {
      try {
        // The host module's own provider only: a non-strict lookup could find another module's
        // instance of the class (another SessionModule's options).
        return this.moduleRef.get(guard, { strict: true });
      } catch {
        return this.moduleRef.create(guard);
      }
    }
  }

  return mixin(AnyOfGuards);
}

/**
 * Runs `checks[index]` and, on a refusal, the next ones. Synchronous while the guards are (a
 * `SessionGuard` cache hit stays a plain `true`); a guard's promise or observable makes the rest
 * asynchronous. Any truthy answer admits, as Nest reads a guard's.
 */
function tryFrom(checks: Check[], index: number, context: ExecutionContext, refusals: Refusal[]): boolean | Promise<boolean> {
  for (let i = index; i < checks.length; i++) {
    let result: ReturnType<CanActivate['canActivate']>;
    try {
      result = checks[i](context);
    } catch (error) {
      refusals.push({ error });
      continue;
    }
    if (result !== null && typeof result === 'object' && (isObservable(result) || typeof (result as Promise<boolean>).then === 'function')) {
      const pending = isObservable(result) ? lastValueFrom(result, { defaultValue: false }) : result;
      return pending.then(
        (admitted) => (admitted ? true : tryFrom(checks, i + 1, context, [...refusals, { denied: true }])),
        (error: unknown) => tryFrom(checks, i + 1, context, [...refusals, { error }]),
      );
    }
    if (result) return true;
    refusals.push({ denied: true });
  }
  return refuse(refusals);
}

/**
 * Throws the first refusal that says something (an HTTP error that is not bare); else the first
 * bare one with a stable `code` (the library's `UNAUTHENTICATED` rather than passport's code-less
 * 401), else the first bare one; else a guard's own crash; `false` when every guard answered no.
 */
function refuse(refusals: Refusal[]): false {
  const thrown = refusals.filter((refusal): refusal is { error: unknown } => 'error' in refusal).map((refusal) => refusal.error);
  const answers = thrown.filter(isAnswer);
  const telling = answers.find((error) => !isBare(error));
  if (telling !== undefined) throw telling;
  const coded = answers.find((error) => codeOf(error) !== undefined);
  if (coded !== undefined) throw coded;
  if (answers.length > 0) throw answers[0];
  if (thrown.length > 0) {
    logger.error(`a composed guard failed with ${thrown[0] instanceof Error ? thrown[0].name : typeof thrown[0]}`);
    throw thrown[0];
  }
  return false;
}

/** An answer to the client (an HTTP error, or a library error in its GraphQL form), not a crash. */
function isAnswer(error: unknown): boolean {
  return error instanceof HttpException || typeof (error as { extensions?: { code?: unknown } } | null)?.extensions?.code === 'string';
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
