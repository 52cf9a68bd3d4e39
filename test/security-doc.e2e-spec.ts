import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * docs/security.md against SECURITY.md and the test files it names.
 *
 * The doc's format, which this file checks:
 * - one `### Case N: …` section per numbered case of SECURITY.md, in any order, each exactly once;
 * - in it, `- status: built`, `- status: partly built` or `- status: not built yet (…)`;
 * - `- source: …` holding SECURITY.md's tag for the case verbatim (or `no tag` when it has none);
 * - `- test: <path from the repository root> › "<title>"`, one line per test; `"<outer>" › "<inner>"`
 *   names a test inside a describe block. Each quoted text must be part of the title of an `it`,
 *   `test` or `describe` (`.each`, `.only` and the like included) in that file, nested as written.
 *   Titles are read with the TypeScript parser: a template literal's `${…}` parts stand for
 *   themselves, so a reference quotes a fixed part of such a title; `%s` in an `.each` title is
 *   plain text and may be quoted or left out.
 * A built or partly built case needs at least one test; a case not built yet lists none. The
 * `Summary:` line's counts must match the statuses. Other `###` sections with a status (the
 * secure defaults) follow the same rules, without the SECURITY.md cross-checks.
 *
 * SECURITY.md is the project's requirements file, copied into the repository as
 * docs/security-requirements.md (`SECURITY_MD` may name another copy). Without it this
 * test fails rather than skips (the cross-check is its point).
 */

const ROOT = join(__dirname, '..');
const DOC_FILE = join(ROOT, 'docs', 'security.md');

const STATUSES = ['built', 'partly built', 'not built yet'] as const;
type Status = (typeof STATUSES)[number];

interface Requirement {
  n: number;
  /** The source tag in parentheses at the end of the case's line, or null when it has none. */
  tag: string | null;
}

interface TestRef {
  line: number;
  file: string;
  titles: string[];
}

interface Entry {
  heading: string;
  line: number;
  caseNumber: number | null;
  status: Status | null;
  statusText: string | null;
  source: string | null;
  tests: TestRef[];
}

interface ParsedDoc {
  entries: Entry[];
  /** Test lines outside any `###` section. */
  strayTests: TestRef[];
  summary: { cases: number; built: number; partly: number; notBuilt: number } | null;
  errors: string[];
}

function findSecurityMd(): string | null {
  const candidates = [process.env.SECURITY_MD, join(ROOT, 'docs', 'security-requirements.md')];
  return candidates.find((path): path is string => !!path && existsSync(path)) ?? null;
}

/** The numbered cases of SECURITY.md: lines `N. …`, with the `(…)` tag that ends the line, if any. */
function parseRequirements(text: string): Requirement[] {
  const out: Requirement[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)\.\s+(.*\S)\s*$/.exec(line);
    if (!m) continue;
    const tag = /\(([^()]+)\)$/.exec(m[2]);
    out.push({ n: Number(m[1]), tag: tag ? tag[1].trim() : null });
  }
  return out;
}

const TEST_LINE = /^- test: (\S+) › (.+)$/;
const SEGMENT = /^"(.+)"$/;

function parseDoc(text: string): ParsedDoc {
  const entries: Entry[] = [];
  const strayTests: TestRef[] = [];
  const errors: string[] = [];
  let current: Entry | null = null;
  let summary: ParsedDoc['summary'] = null;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    const lineNo = index + 1;
    if (line.startsWith('## ')) {
      current = null;
      return;
    }
    if (line.startsWith('### ')) {
      const heading = line.slice(4).trim();
      const m = /^Case (\d+):/.exec(heading);
      current = { heading, line: lineNo, caseNumber: m ? Number(m[1]) : null, status: null, statusText: null, source: null, tests: [] };
      entries.push(current);
      return;
    }
    const s = /^Summary: (\d+) cases: (\d+) built, (\d+) partly built, (\d+) not built yet\.$/.exec(line);
    if (s) summary = { cases: Number(s[1]), built: Number(s[2]), partly: Number(s[3]), notBuilt: Number(s[4]) };
    const entry = current as Entry | null;
    if (line.startsWith('- status:')) {
      const value = line.slice('- status:'.length).trim();
      const status = STATUSES.find((st) => value === st || value.startsWith(`${st} (`)) ?? null;
      if (!entry) errors.push(`line ${lineNo}: a status outside any ### section`);
      else if (!status) errors.push(`line ${lineNo}: status "${value}" is not one of ${STATUSES.join(', ')}`);
      else if (entry.status) errors.push(`line ${lineNo}: "${entry.heading}" has a second status`);
      else {
        entry.status = status;
        entry.statusText = value;
      }
      return;
    }
    if (line.startsWith('- source:') && entry) {
      entry.source = line.slice('- source:'.length).trim();
      return;
    }
    if (line.startsWith('- test:')) {
      const m = TEST_LINE.exec(line);
      const segments = m ? m[2].split(' › ').map((seg) => SEGMENT.exec(seg)?.[1]) : [];
      if (!m || segments.length === 0 || segments.some((seg) => seg === undefined)) {
        errors.push(`line ${lineNo}: a test line must read - test: <path> › "<title>" [› "<inner title>"]: ${line}`);
        return;
      }
      const ref: TestRef = { line: lineNo, file: m[1], titles: segments as string[] };
      if (entry) entry.tests.push(ref);
      else strayTests.push(ref);
    }
  });
  return { entries, strayTests, summary, errors };
}

/** An `it`/`test`/`describe` call of a test file: its possible titles and the blocks inside it. */
interface Block {
  titles: string[];
  children: Block[];
}

const TEST_FUNCTIONS = new Set(['describe', 'fdescribe', 'xdescribe', 'it', 'fit', 'xit', 'test', 'xtest']);

/** `it`, `it.only`, `describe.skip`, `it.each(table)`, `test.concurrent.each(table)`: a call that takes a title. */
function isTestCallee(node: ts.Expression): boolean {
  if (ts.isIdentifier(node)) return TEST_FUNCTIONS.has(node.text);
  if (ts.isPropertyAccessExpression(node)) return node.name.text !== 'each' && isTestCallee(node.expression);
  if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'each') {
    return isTestCallee(node.expression.expression);
  }
  return false;
}

function titleTexts(node: ts.Expression, source: ts.SourceFile): string[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isTemplateExpression(node)) return [node.head.text + node.templateSpans.map((span) => `\${…}${span.literal.text}`).join('')];
  if (ts.isParenthesizedExpression(node)) return titleTexts(node.expression, source);
  if (ts.isConditionalExpression(node)) return [...titleTexts(node.whenTrue, source), ...titleTexts(node.whenFalse, source)];
  return [node.getText(source)];
}

const blockCache = new Map<string, Block[]>();

function testBlocks(file: string): Block[] {
  const cached = blockCache.get(file);
  if (cached) return cached;
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const top: Block[] = [];
  const visit = (node: ts.Node, into: Block[]): void => {
    if (ts.isCallExpression(node) && isTestCallee(node.expression) && node.arguments.length > 0) {
      const block: Block = { titles: titleTexts(node.arguments[0], source), children: [] };
      into.push(block);
      for (const arg of node.arguments.slice(1)) visit(arg, block.children);
      return;
    }
    ts.forEachChild(node, (child) => visit(child, into));
  };
  visit(source, top);
  blockCache.set(file, top);
  return top;
}

/** True when some block (at any depth) has a title containing `titles[0]`, and the rest are found inside it. */
function resolves(blocks: Block[], titles: string[]): boolean {
  if (titles.length === 0) return true;
  const [first, ...rest] = titles;
  const search = (list: Block[]): boolean =>
    list.some((b) => (b.titles.some((t) => t.includes(first)) && resolves(b.children, rest)) || search(b.children));
  return search(blocks);
}

const TEST_FILE = /\.(e2e-|server-|browser-)?spec\.ts$/;

function checkTestRef(ref: TestRef, where: string): string[] {
  const label = `line ${ref.line} (${where}): ${ref.file} › ${ref.titles.map((t) => `"${t}"`).join(' › ')}`;
  if (!TEST_FILE.test(ref.file)) return [`${label}: not a test file (*.spec.ts, *.e2e-spec.ts, *.server-spec.ts, *.browser-spec.ts)`];
  const path = join(ROOT, ref.file);
  if (!existsSync(path)) return [`${label}: the file does not exist`];
  if (ref.titles.join('').length < 10) return [`${label}: quote at least 10 characters of title text`];
  if (!resolves(testBlocks(path), ref.titles)) return [`${label}: no test or describe block with that title (nested as written) in the file`];
  return [];
}

/** Every problem of the doc against the requirements and the test files; empty when it is sound. */
function checkSecurityDoc(docText: string, requirements: Requirement[]): string[] {
  const { entries, strayTests, summary, errors } = parseDoc(docText);
  const problems = [...errors];

  const byCase = new Map<number, Entry[]>();
  for (const e of entries) if (e.caseNumber !== null) byCase.set(e.caseNumber, [...(byCase.get(e.caseNumber) ?? []), e]);
  const wanted = new Set(requirements.map((r) => r.n));
  for (const r of requirements) {
    const found = byCase.get(r.n) ?? [];
    if (found.length === 0) {
      problems.push(`case ${r.n} of SECURITY.md is missing from the doc`);
      continue;
    }
    if (found.length > 1) problems.push(`case ${r.n} appears ${found.length} times (lines ${found.map((e) => e.line).join(', ')})`);
    const source = found[0].source;
    if (source === null) problems.push(`case ${r.n}: no "- source:" line`);
    else if (r.tag !== null && !source.includes(r.tag)) problems.push(`case ${r.n}: the source line does not give SECURITY.md's tag "${r.tag}"`);
    else if (r.tag === null && !source.includes('no tag')) problems.push(`case ${r.n}: SECURITY.md gives no tag; the source line must say "no tag"`);
  }
  for (const n of byCase.keys()) if (!wanted.has(n)) problems.push(`case ${n} is in the doc but not in SECURITY.md`);

  for (const e of entries) {
    const name = e.caseNumber !== null ? `case ${e.caseNumber}` : `"${e.heading}"`;
    if (e.status === null) {
      if (e.caseNumber !== null) problems.push(`${name}: no "- status:" line`);
      if (e.tests.length > 0 && e.caseNumber === null) problems.push(`${name}: lists tests but has no status`);
    } else if (e.status === 'not built yet') {
      if (e.tests.length > 0) problems.push(`${name} is marked not built yet but lists ${e.tests.length} test(s)`);
    } else if (e.tests.length === 0) {
      problems.push(`${name} is marked ${e.status} but lists no test`);
    }
    for (const ref of e.tests) problems.push(...checkTestRef(ref, name));
  }
  for (const ref of strayTests) problems.push(...checkTestRef(ref, 'outside any case'));

  const cases = entries.filter((e) => e.caseNumber !== null);
  const count = (s: Status) => cases.filter((e) => e.status === s).length;
  const actual = { cases: cases.length, built: count('built'), partly: count('partly built'), notBuilt: count('not built yet') };
  if (!summary) problems.push('no "Summary: N cases: B built, P partly built, U not built yet." line');
  else if (JSON.stringify(summary) !== JSON.stringify(actual)) {
    problems.push(`the Summary line says ${JSON.stringify(summary)}, the cases say ${JSON.stringify(actual)}`);
  }
  return problems;
}

describe('docs/security.md', () => {
  const securityPath = findSecurityMd();
  const doc = readFileSync(DOC_FILE, 'utf8');

  it('SECURITY.md is found (set SECURITY_MD to its path if it lives elsewhere)', () => {
    expect(securityPath).not.toBeNull();
  });

  const requirements = () => parseRequirements(readFileSync(securityPath!, 'utf8'));

  it('reads SECURITY.md\'s cases 1..N without gaps, and their tags', () => {
    const reqs = requirements();
    expect(reqs.length).toBeGreaterThanOrEqual(50);
    expect(reqs.map((r) => r.n)).toEqual(reqs.map((_r, i) => i + 1));
    expect(reqs.find((r) => r.n === 1)?.tag).toMatch(/ASVS/);
    expect(reqs.find((r) => r.n === 5)?.tag).toBeNull();
  });

  it('covers every case of SECURITY.md with its source and status; every listed test exists under that name', () => {
    expect(checkSecurityDoc(doc, requirements())).toEqual([]);
  });

  describe('the check itself fails when it should', () => {
    /** The doc with the section of case `n` (its heading to the next heading) transformed. */
    const editCase = (n: number, edit: (section: string) => string) =>
      doc.replace(new RegExp(`### Case ${n}:[\\s\\S]*?(?=\\n##)`), (section) => edit(section));
    const problems = (text: string) => checkSecurityDoc(text, requirements());

    it('the unedited doc is the baseline: nothing to report', () => {
      expect(problems(doc)).toEqual([]);
    });

    it('a case of SECURITY.md missing from the doc', () => {
      expect(problems(editCase(7, () => ''))).toEqual(expect.arrayContaining(['case 7 of SECURITY.md is missing from the doc']));
    });

    it('a built case whose test lines were removed', () => {
      const stripped = editCase(1, (s) => s.split('\n').filter((l) => !l.startsWith('- test:')).join('\n'));
      expect(problems(stripped)).toEqual(expect.arrayContaining(['case 1 is marked built but lists no test']));
    });

    it('a test file that does not exist', () => {
      const moved = editCase(1, (s) => s.replace('- test: test/access-token.e2e-spec.ts', '- test: test/no-such-file.e2e-spec.ts'));
      expect(problems(moved).some((p) => p.includes('test/no-such-file.e2e-spec.ts') && p.includes('does not exist'))).toBe(true);
    });

    it('a test title that is not in the file', () => {
      const renamed = editCase(1, (s) => s.replace(/(- test: test\/access-token\.e2e-spec\.ts › ")[^"]+"/, '$1case 1: a title nobody wrote"'));
      expect(problems(renamed).some((p) => p.includes('case 1: a title nobody wrote') && p.includes('no test or describe block'))).toBe(true);
    });

    it('an inner title that exists, but not inside the named describe block', () => {
      const wrongNest = editCase(37, (s) => s.replace(/- test: test\/cookies\.e2e-spec\.ts › "[^\n]*/, '- test: test/cookies.e2e-spec.ts › "case 36: Secure" › "two access cookies of the same name"'));
      expect(problems(wrongNest).some((p) => p.includes('two access cookies of the same name') && p.includes('nested as written'))).toBe(true);
    });

    it('a case not built yet that lists a test, a wrong source tag, and a summary that does not add up', () => {
      // Every case is built now: mark one not built, keeping its tests.
      const edited = editCase(32, (s) => s.replace('- status: built', '- status: not built yet (issue 12/13; D14: keys-and-policies work)')).replace(
        /(### Case 9:[\s\S]*?- source: )[^\n]*/,
        '$1ASVS 1.2.3',
      );
      const found = problems(edited);
      expect(found).toEqual(expect.arrayContaining(['case 32 is marked not built yet but lists 3 test(s)']));
      expect(found.some((p) => p.startsWith('case 9: the source line does not give'))).toBe(true);
      const miscounted = doc.replace(/^- status: built$/m, '- status: partly built');
      expect(problems(miscounted).some((p) => p.startsWith('the Summary line says'))).toBe(true);
    });
  });
});
