// The TypeScript blocks of README.md and docs/*.md, as files to type-check. Shared by
// `npm run test:package` (test/package/run.mjs: against the packed library) and `npm test`
// (test/docs-snippets.e2e-spec.ts: against the source, through the `nest-sessions` path alias).
//
// The convention, which every doc follows:
// - Every ```ts or ```typescript block is checked, strict. A block that is not meant to compile
//   (shell, JSON, a browser script, deliberately wrong code) uses another fence: ```sh, ```json,
//   ```js, ```text.
// - Each block is one module of its own: it imports what it uses. A block whose first line is a
//   file-name comment (`// app.module.ts` or `// app.module.ts: what it is`) is written under that
//   name, so later blocks of the same doc can import it (`import { AppModule } from './app.module'`);
//   other blocks are `snippet-<n>.ts`, n counting the doc's TypeScript blocks from 1.
// - A relative import of a file the doc does not define is one of the app's own files (its users
//   service, say): it resolves to the stand-ins in test/package/doc-stubs/, copied beside every
//   doc's blocks unless the doc writes a file of that name itself.
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { basename, join } = require('node:path');

const TS_LANGS = new Set(['ts', 'typescript']);
const ANY_FENCE = /^(\s*)```/;
const FILE_NAME = /^\/\/ ([A-Za-z0-9_.-]+\.ts)(?::|\s|$)/;

/** README.md and every docs/*.md, in a fixed order. */
function docFiles(root) {
  const docs = join(root, 'docs');
  const guides = existsSync(docs) ? readdirSync(docs).filter((f) => f.endsWith('.md')).sort().map((f) => join('docs', f)) : [];
  return ['README.md', ...guides];
}

/** The fenced blocks of one Markdown text: `{ lang, line, code }`, `line` 1-based (the fence's). */
function fencedBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = ANY_FENCE.exec(lines[i]);
    if (!open) continue;
    const indent = open[1];
    const lang = lines[i].trim().slice(3).trim();
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j += 1) body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    if (j >= lines.length) throw new Error(`line ${i + 1}: a code fence that never closes`);
    blocks.push({ lang, line: i + 1, code: `${body.join('\n')}\n` });
    i = j;
  }
  return blocks;
}

/**
 * Every TypeScript block of the docs under `root`, as `{ doc, line, dir, name, code }`: `dir` is
 * the doc's folder of snippets (`readme`, `getting-started`), `name` the file name in it.
 */
function collectSnippets(root) {
  const out = [];
  for (const doc of docFiles(root)) {
    const dir = basename(doc, '.md').toLowerCase();
    const names = new Set();
    let n = 0;
    for (const block of fencedBlocks(readFileSync(join(root, doc), 'utf8'))) {
      if (!TS_LANGS.has(block.lang)) continue;
      n += 1;
      const named = FILE_NAME.exec(block.code.split('\n')[0]);
      const name = named ? named[1] : `snippet-${n}.ts`;
      if (names.has(name)) throw new Error(`${doc}:${block.line}: a second block named ${name}; file names are unique within a doc`);
      names.add(name);
      out.push({ doc, line: block.line, dir, name, code: block.code });
    }
  }
  return out;
}

/** The stand-ins for an app's own files: `{ name, code }` from test/package/doc-stubs/. */
function stubFiles(root) {
  const dir = join(root, 'test', 'package', 'doc-stubs');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((name) => ({ name, code: readFileSync(join(dir, name), 'utf8') }));
}

/**
 * The files to check, as `{ path, code, origin }` with `path` relative to the snippets folder
 * (`readme/snippet-1.ts`): the blocks, and the stand-ins in every doc's folder the doc does not
 * replace. `origin` says where a diagnostic comes from (`README.md:42`).
 */
function snippetFiles(root) {
  const snippets = collectSnippets(root);
  const stubs = stubFiles(root);
  const files = snippets.map((s) => ({ path: `${s.dir}/${s.name}`, code: s.code, origin: `${s.doc}:${s.line}` }));
  for (const dir of new Set(snippets.map((s) => s.dir))) {
    for (const stub of stubs) {
      if (snippets.some((s) => s.dir === dir && s.name === stub.name)) continue;
      files.push({ path: `${dir}/${stub.name}`, code: stub.code, origin: `test/package/doc-stubs/${stub.name}` });
    }
  }
  return files;
}

module.exports = { docFiles, fencedBlocks, collectSnippets, snippetFiles };
