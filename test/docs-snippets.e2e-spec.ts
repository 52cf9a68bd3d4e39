import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { docFiles, fencedBlocks, snippetFiles, type SnippetFile } from './package/doc-snippets.cjs';

/**
 * The docs cannot drift from the code: every TypeScript block of README.md and docs/*.md
 * type-checks, strict, against the library's source (the `nest-sessions` path alias of
 * tsconfig.json). The convention for blocks is in test/package/doc-snippets.cjs. This is the fast
 * check; `npm run test:package` makes the same check against the packed tarball in a fresh app.
 */

const ROOT = join(__dirname, '..');
/** Where the blocks are served from. Never written: the compiler host answers for it. */
const VIRTUAL = join(ROOT, 'test', '.doc-snippets');

/** A deliberately wrong block: proves the check reports errors rather than passing everything. */
const CANARY: SnippetFile = {
  path: '__canary__/snippet-1.ts',
  code: "import { SessionModule } from 'nest-sessions';\nexport const m = SessionModule.forRoot({ jwtSecret: 'x' });\n",
  origin: 'canary:0',
};

function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  // Only the blocks are checked; `jest` types stay out (a user's app does not have them).
  return { ...parsed.options, noEmit: true, declaration: false, sourceMap: false, incremental: false, types: ['node'] };
}

/** `README.md:42` (the fence) and a 0-based line of the block → the line in the doc. */
function where(file: SnippetFile, line: number): string {
  const m = /^(.*):(\d+)$/.exec(file.origin);
  return m ? `${m[1]}:${Number(m[2]) + 1 + line}` : `${file.origin}:${line + 1}`;
}

/** Type-checks the files together; returns one line per diagnostic, keyed by file path. */
function check(files: SnippetFile[]): Map<string, string[]> {
  const options = compilerOptions();
  const virtual = new Map(files.map((f) => [join(VIRTUAL, f.path), f]));
  const host = ts.createCompilerHost(options, true);
  const real = { fileExists: host.fileExists, readFile: host.readFile, getSourceFile: host.getSourceFile, directoryExists: host.directoryExists };
  host.fileExists = (path) => virtual.has(path) || real.fileExists.call(host, path);
  host.readFile = (path) => virtual.get(path)?.code ?? real.readFile.call(host, path);
  host.directoryExists = (path) => path.startsWith(VIRTUAL) || (real.directoryExists?.call(host, path) ?? ts.sys.directoryExists(path));
  host.getSourceFile = (path, language, onError, create) => {
    const file = virtual.get(path);
    return file ? ts.createSourceFile(path, file.code, language, true) : real.getSourceFile.call(host, path, language, onError, create);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const out = new Map<string, string[]>();
  for (const [path, file] of virtual) {
    const source = program.getSourceFile(path)!;
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    out.set(
      file.path,
      diagnostics.map((d) => {
        const { line } = source.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${where(file, line)} (${file.path}): TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      }),
    );
  }
  return out;
}

/** The text of a Markdown file without its fenced blocks. */
const outsideCode = (markdown: string) => markdown.replace(/```[\s\S]*?```/g, '');

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as dashes. */
function headingSlugs(markdown: string): Set<string> {
  const headings = outsideCode(markdown).match(/^#{1,6} .+$/gm) ?? [];
  return new Set(headings.map((h) => h.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')));
}

describe('the docs', () => {
  const docs = docFiles(ROOT);
  /** The docs plus the other hand-written Markdown at the root, for the link and citation checks. */
  const prose = [...docs, 'CHANGELOG.md', 'DEVELOPERS.md'];
  const text = (doc: string) => readFileSync(join(ROOT, doc), 'utf8');

  describe('every TypeScript block compiles against the library', () => {
    const files = snippetFiles(ROOT);
    let results: Map<string, string[]>;
    beforeAll(() => {
      results = check([...files, CANARY]);
    }, 120_000);

    it('finds the blocks (the extraction works)', () => {
      const blocks = files.filter((f) => !f.origin.startsWith('test/'));
      expect(blocks.length).toBeGreaterThan(20);
      expect(blocks.some((f) => f.path.startsWith('readme/'))).toBe(true);
    });

    it('reports a wrong block (the check works)', () => {
      expect(results.get(CANARY.path)!.join('\n')).toMatch(/TS2345 .*sessionSecret/s);
    });

    it('README.md and docs/*.md: no block has a type error', () => {
      expect(files.flatMap((f) => results.get(f.path) ?? [])).toEqual([]);
    });
  });

  it('the README stays short: at most 300 lines', () => {
    expect(text('README.md').split('\n').length).toBeLessThanOrEqual(300);
  });

  it("the README's map names every guide in docs/", () => {
    const readme = text('README.md');
    const missing = docs.filter((doc) => doc.startsWith('docs/') && !readme.includes(`](${doc})`));
    expect(missing).toEqual([]);
  });

  it('every relative link of the docs points at a file of the repository, and at a heading of it', () => {
    const broken: string[] = [];
    for (const doc of prose) {
      for (const [, target] of outsideCode(text(doc)).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue;
        const [file, anchor] = target.split('#');
        const path = file ? resolve(dirname(join(ROOT, doc)), file) : join(ROOT, doc);
        if (!existsSync(path)) broken.push(`${doc}: ${target}`);
        else if (anchor && path.endsWith('.md') && !headingSlugs(readFileSync(path, 'utf8')).has(anchor)) broken.push(`${doc}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every file of the repository the docs name (`libs/…`, `apps/…`, `test/…`) exists', () => {
    const missing: string[] = [];
    for (const doc of docs) {
      for (const [, path] of outsideCode(text(doc)).matchAll(/`((?:libs|apps|test|docs|bench|scripts)\/[^`*\s…]+)`/g)) {
        if (!existsSync(join(ROOT, path))) missing.push(`${doc}: ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the README installs the tarball `npm run package` writes today, names every peer of the package and its Node versions', () => {
    const readme = text('README.md');
    const manifest = JSON.parse(text('libs/session/package.json')) as { name: string; version: string; peerDependencies: Record<string, string>; engines: { node: string } };
    expect(readme).toContain(`npm install /path/to/nest-sessions/dist/pack/${manifest.name}-${manifest.version}.tgz`);
    expect(readme).toContain(`npm install ${manifest.name}`);
    // `^22.13.0 || >=24.11.0` is written `Node.js 22.13+ or 24.11+ (the package's `engines`)`.
    const engines = [...manifest.engines.node.matchAll(/(\d+\.\d+)\.\d+/g)].map((m) => `${m[1]}+`);
    const sentence = /Node\.js ([^(]+)\(the package's `engines`\)/.exec(readme)?.[1] ?? '';
    expect(sentence.match(/\d+\.\d+\+/g)).toEqual(engines);
    expect(Object.keys(manifest.peerDependencies).filter((peer) => !new RegExp(`[\\s\`]${peer.replace(/[/.]/g, '\\$&')}[\\s\`]`).test(readme))).toEqual([]);
  });

  it('no doc cites an issue number or a document outside the repository', () => {
    const citations: string[] = [];
    for (const doc of prose) {
      text(doc)
        .split('\n')
        .forEach((line, i) => {
          if (/\b[Ii]ssues? #?\d+(?![\w-])|\bCONTRACT\b|\(D\d+\)|\.\.\/shared\//.test(line)) citations.push(`${doc}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(citations).toEqual([]);
  });

  it('the fence parser reads indented blocks inside list items', () => {
    expect(fencedBlocks('- item\n\n  ```ts\n  const a = 1;\n  ```\n')).toEqual([{ lang: 'ts', line: 3, code: 'const a = 1;\n' }]);
  });
});
