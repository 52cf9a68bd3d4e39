// Types of doc-snippets.cjs, for the TypeScript that imports it (test/docs-snippets.e2e-spec.ts).

/** A fenced block of a Markdown text; `line` is the opening fence's, 1-based. */
export interface FencedBlock {
  lang: string;
  line: number;
  code: string;
}

/** A TypeScript block of a doc, with the folder (`readme`) and file name it is checked under. */
export interface DocSnippet {
  doc: string;
  line: number;
  dir: string;
  name: string;
  code: string;
}

/** A file to check: `path` relative to the snippets folder, `origin` the doc line or stub it comes from. */
export interface SnippetFile {
  path: string;
  code: string;
  origin: string;
}

export function docFiles(root: string): string[];
export function fencedBlocks(text: string): FencedBlock[];
export function collectSnippets(root: string): DocSnippet[];
export function snippetFiles(root: string): SnippetFile[];
