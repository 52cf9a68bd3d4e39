// `npm run package`: builds the library alone (libs/session, no sample, no path aliases) and
// writes exactly one tarball, dist/pack/nest-sessions-<version>.tgz.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const staging = join(root, 'dist', 'package');
const packDir = join(root, 'dist', 'pack');
rmSync(staging, { recursive: true, force: true });
rmSync(packDir, { recursive: true, force: true });
mkdirSync(packDir, { recursive: true });

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'libs', 'session', 'tsconfig.lib.json')], { stdio: 'inherit' });

const manifest = JSON.parse(readFileSync(join(root, 'libs', 'session', 'package.json'), 'utf8'));
writeFileSync(join(staging, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
copyFileSync(join(root, 'libs', 'session', 'README.md'), join(staging, 'README.md'));
copyFileSync(join(root, 'LICENSE'), join(staging, 'LICENSE'));
// The browser client ships as written: ESM with its declarations, no build step, no dependencies.
cpSync(join(root, 'libs', 'session', 'client'), join(staging, 'client'), { recursive: true });

const out = execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: staging, encoding: 'utf8' });
const [packed] = JSON.parse(out);
const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
if (tarballs.length !== 1) throw new Error(`expected exactly one tarball in dist/pack, found ${tarballs.length}`);
console.log(`dist/pack/${tarballs[0]}: ${packed.entryCount} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`);
