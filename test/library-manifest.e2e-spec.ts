import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const LIB = join(__dirname, '..', 'libs', 'session');
const manifest = JSON.parse(readFileSync(join(LIB, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|mjs)$/.test(name) && !/\.spec\.ts$/.test(name) ? [path] : [];
  });
}

/** Bare package names a file imports or requires, split by whether the import is type-only. */
function imports(file: string): Array<{ name: string; typeOnly: boolean; lazy: boolean }> {
  const text = readFileSync(file, 'utf8');
  const found: Array<{ name: string; typeOnly: boolean; lazy: boolean }> = [];
  for (const m of text.matchAll(/^import (type )?[^'"]*?from '([^'.][^']*)'/gm)) found.push({ name: m[2], typeOnly: !!m[1], lazy: false });
  for (const m of text.matchAll(/(?:optionalPeer|requireOptionalPeer)<[^>]*>\('([^']+)'/g)) found.push({ name: m[1], typeOnly: false, lazy: true });
  return found.map((f) => ({ ...f, name: f.name.startsWith('@') ? f.name.split('/').slice(0, 2).join('/') : f.name.split('/')[0] }));
}

/** The library's manifest says exactly what its code needs. */
describe('libs/session/package.json', () => {
  const all = sources(join(LIB, 'src')).concat(sources(join(LIB, 'client'))).flatMap(imports);
  const builtin = (name: string) => name.startsWith('node:') || builtinModules.includes(name);
  const declared = { ...manifest.dependencies, ...manifest.peerDependencies };

  it('every package the library imports at run time is a dependency or a required peer', () => {
    const eager = all.filter((i) => !i.typeOnly && !i.lazy && !builtin(i.name));
    expect(eager.length).toBeGreaterThan(5);
    const missing = [...new Set(eager.map((i) => i.name))].filter((n) => !declared[n] || manifest.peerDependenciesMeta[n]?.optional);
    expect(missing).toEqual([]);
  });

  it('optional peers are only ever loaded lazily, and are declared optional', () => {
    const optional = Object.keys(manifest.peerDependenciesMeta).filter((n) => manifest.peerDependenciesMeta[n].optional);
    expect(optional.sort()).toEqual(['@nestjs/event-emitter', '@nestjs/schedule', '@nestjs/swagger', 'cron', 'ioredis']);
    const eagerOptional = all.filter((i) => !i.typeOnly && !i.lazy && optional.includes(i.name));
    expect(eagerOptional).toEqual([]);
  });

  it('declares nothing the library does not use', () => {
    const used = new Set(all.map((i) => i.name));
    // Used without an import of their own: @nestjs/event-emitter through a lazy require by name,
    // reflect-metadata and rxjs as Nest's own peers that decorators and Nest need at run time.
    const implicit = new Set(['@nestjs/event-emitter', 'reflect-metadata', 'rxjs']);
    expect(Object.keys(declared).filter((n) => !used.has(n) && !implicit.has(n))).toEqual([]);
  });
});
