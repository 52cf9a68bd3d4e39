import { type CanActivate, type ExecutionContext, Injectable, Scope, UnauthorizedException } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { of, throwError } from 'rxjs';
import { AccessTokenExpiredError, ServiceUnavailableError, UnauthenticatedError } from '../errors/session-error';
import { SessionConfigError } from '../errors/session-config-error';
import { SessionGraphQLError } from '../graphql/session-graphql-error';
import { AnyGuard } from './any-guard';

/** The testing module's logger prints errors; the crash these specs provoke on purpose is not news. */
const SILENT = { log() {}, error() {}, warn() {} };

const context = {} as ExecutionContext;
const calls: string[] = [];

/** A guard class whose answer is `answer()`, recording each call. */
function guardAnswering(name: string, answer: () => ReturnType<CanActivate['canActivate']>) {
  @Injectable()
  class Answering implements CanActivate {
    canActivate() {
      calls.push(name);
      return answer();
    }
  }
  Object.defineProperty(Answering, 'name', { value: name });
  return Answering;
}

const admits = guardAnswering('admits', () => true);
const denies = guardAnswering('denies', () => false);
const admitsLater = guardAnswering('admitsLater', () => Promise.resolve(true));
const admitsObservably = guardAnswering('admitsObservably', () => of(true));
const bare = guardAnswering('bare', () => {
  throw new UnauthenticatedError();
});
const barePassport = guardAnswering('barePassport', () => Promise.reject(new UnauthorizedException()));
const expired = guardAnswering('expired', () => {
  throw new AccessTokenExpiredError();
});
const expiredLater = guardAnswering('expiredLater', () => Promise.reject(new AccessTokenExpiredError()));
const unavailable = guardAnswering('unavailable', () => throwError(() => new ServiceUnavailableError()));
const wrongKey = guardAnswering('wrongKey', () => {
  throw new UnauthorizedException({ statusCode: 401, code: 'WRONG_KEY', message: 'no' });
});
const crashes = guardAnswering('crashes', () => {
  throw new TypeError('a bug in a guard');
});
const truthy = guardAnswering('truthy', () => 1 as unknown as boolean);
const bareGraphQL = guardAnswering('bareGraphQL', () => {
  throw new SessionGraphQLError('UNAUTHENTICATED', 401, 'Authentication required.');
});

const modules: TestingModule[] = [];

async function built(guard: ReturnType<typeof AnyGuard>, providers: unknown[] = []): Promise<CanActivate> {
  const moduleRef = await Test.createTestingModule({ providers: [guard, ...(providers as never[])] }).setLogger(SILENT).compile();
  modules.push(moduleRef);
  await moduleRef.init();
  return moduleRef.get(guard);
}

afterEach(async () => {
  await Promise.all(modules.splice(0).map((m) => m.close()));
});

const thrownBy = async (guard: CanActivate): Promise<unknown> => {
  try {
    await guard.canActivate(context);
  } catch (error) {
    return error;
  }
  throw new Error('the guard admitted');
};

beforeEach(() => {
  calls.length = 0;
});

describe('AnyGuard', () => {
  it('admits when the first guard does, synchronously, without running the others', async () => {
    const guard = await built(AnyGuard(admits, bare));
    expect(guard.canActivate(context)).toBe(true);
    expect(calls).toEqual(['admits']);
  });

  it('tries the guards in order until one admits: after a refusal, a promise, an observable', async () => {
    expect(await (await built(AnyGuard(bare, denies, admitsLater))).canActivate(context)).toBe(true);
    expect(calls).toEqual(['bare', 'denies', 'admitsLater']);
    calls.length = 0;
    expect(await (await built(AnyGuard(expiredLater, admitsObservably))).canActivate(context)).toBe(true);
    expect(calls).toEqual(['expiredLater', 'admitsObservably']);
  });

  it('answers false when every guard answered false; any truthy answer admits, as Nest reads a guard', async () => {
    expect(await (await built(AnyGuard(denies, denies))).canActivate(context)).toBe(false);
    expect(await (await built(AnyGuard(denies, truthy))).canActivate(context)).toBe(true);
  });

  it("a guard's crash (not an HTTP error) answers only when no guard gave an answer", async () => {
    expect(await thrownBy(await built(AnyGuard(crashes, bare)))).toBeInstanceOf(UnauthenticatedError);
    expect(await thrownBy(await built(AnyGuard(crashes, barePassport)))).toBeInstanceOf(UnauthorizedException);
    expect(await thrownBy(await built(AnyGuard(crashes, denies)))).toBeInstanceOf(TypeError);
  });

  it('throws the first refusal that says something, wherever it stands, over a bare "no credentials"', async () => {
    expect(await thrownBy(await built(AnyGuard(bare, expired)))).toBeInstanceOf(AccessTokenExpiredError);
    expect(await thrownBy(await built(AnyGuard(barePassport, expiredLater)))).toBeInstanceOf(AccessTokenExpiredError);
    expect(await thrownBy(await built(AnyGuard(expired, wrongKey)))).toBeInstanceOf(AccessTokenExpiredError);
    expect((await thrownBy(await built(AnyGuard(bare, wrongKey))) as UnauthorizedException).getResponse()).toEqual(expect.objectContaining({ code: 'WRONG_KEY' }));
    expect(await thrownBy(await built(AnyGuard(bareGraphQL, unavailable)))).toBeInstanceOf(ServiceUnavailableError);
    expect(await thrownBy(await built(AnyGuard(denies, unavailable)))).toBeInstanceOf(ServiceUnavailableError);
  });

  it('when all were bare, throws the first one with a stable code (the library\'s UNAUTHENTICATED over a code-less 401)', async () => {
    expect(await thrownBy(await built(AnyGuard(bare, barePassport)))).toBeInstanceOf(UnauthenticatedError);
    expect(await thrownBy(await built(AnyGuard(barePassport, bare)))).toBeInstanceOf(UnauthenticatedError);
    expect(await thrownBy(await built(AnyGuard(barePassport, denies)))).toBeInstanceOf(UnauthorizedException);
    expect(await thrownBy(await built(AnyGuard(denies, bareGraphQL)))).toBeInstanceOf(SessionGraphQLError);
  });

  it("uses the app's instance of a registered guard, and builds one with the module's providers otherwise", async () => {
    @Injectable()
    class Dependency {
      readonly answer = true;
    }
    @Injectable()
    class Registered implements CanActivate {
      hits = 0;
      canActivate() {
        return ++this.hits > 0;
      }
    }
    @Injectable()
    class Unregistered implements CanActivate {
      constructor(private readonly dependency: Dependency) {}
      canActivate() {
        return this.dependency.answer;
      }
    }
    const composite = AnyGuard(Registered, Unregistered);
    const moduleRef = await Test.createTestingModule({ providers: [composite, Registered, Dependency] }).setLogger(SILENT).compile();
    await moduleRef.init();
    expect(moduleRef.get(composite).canActivate(context)).toBe(true);
    expect(moduleRef.get(Registered).hits).toBe(1);
    const second = AnyGuard(denies, Unregistered);
    expect(await (await built(second, [Dependency])).canActivate(context)).toBe(true);
  });

  it('resolves its guards at start-up: a guard whose dependencies are missing fails the boot, not a request', async () => {
    @Injectable()
    class Missing {}
    @Injectable()
    class NeedsMissing implements CanActivate {
      constructor(readonly missing: Missing) {}
      canActivate() {
        return true;
      }
    }
    await expect(built(AnyGuard(admits, NeedsMissing))).rejects.toThrow(/Missing|dependencies/);
  });

  it('is refused without guard classes, and with a request-scoped or transient guard', () => {
    expect(() => AnyGuard()).toThrow(SessionConfigError);
    expect(() => AnyGuard(undefined as never)).toThrow(SessionConfigError);
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest implements CanActivate {
      canActivate() {
        return true;
      }
    }
    @Injectable({ scope: Scope.TRANSIENT })
    class Transient implements CanActivate {
      canActivate() {
        return true;
      }
    }
    expect(() => AnyGuard(admits, PerRequest)).toThrow(/PerRequest is request-scoped/);
    expect(() => AnyGuard(Transient)).toThrow(/Transient is transient-scoped/);
  });
});
