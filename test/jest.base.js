// Shared Jest settings. NestJS 12 packages (and lru-cache, jose, dpop, oauth4webapi, content-disposition 3) are ESM-only, so @swc/jest compiles
// them too; ts-jest cannot (import.meta.url). Type checking is `npm run typecheck`.
const swc = (syntax) => [
  '@swc/jest',
  {
    jsc: {
      parser: syntax === 'ts' ? { syntax: 'typescript', decorators: true } : { syntax: 'ecmascript', importMeta: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  // TypeORM keeps its entity metadata in one process-wide object on purpose; Jest's clean-up of
  // globals between files would warn each time a later file reads it.
  testEnvironmentOptions: { globalsCleanup: 'off' },
  transform: {
    '^.+\\.ts$': swc('ts'),
    '^.+\\.m?js$': swc('js'),
  },
  // Mercurius loads ESM-only packages (quick-lru by a dynamic import(), which Jest's CommonJS
  // runtime cannot run; compiled, it is a require) and content-disposition 3 (under @fastify/static).
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|lru-cache|jose|dpop|oauth4webapi|mercurius|quick-lru|content-disposition)/)(?!.*/node_modules/content-disposition/)'],
  moduleNameMapper: {
    '^nest-sessions$': '<rootDir>/libs/session/src/index.ts',
    '^nest-sessions/(.*)$': '<rootDir>/libs/session/src/$1',
  },
  // .stryker-tmp: the mutation run's sandboxes, copies of the whole repository (npm run test:mutation).
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.stryker-tmp/'],
  testTimeout: 30_000,
  setupFiles: ['<rootDir>/test/setup/quiet-logger.ts'],
};
