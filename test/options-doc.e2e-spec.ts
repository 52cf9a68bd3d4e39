import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { parseDuration, SESSION_DEFAULTS } from 'nest-sessions';

const ROOT = join(__dirname, '..');
const OPTIONS_FILE = join(ROOT, 'libs', 'session', 'src', 'session.options.ts');
const DOC_FILE = join(ROOT, 'docs', 'options.md');

/** Options with no entry in SESSION_DEFAULTS, and why. */
const WITHOUT_DEFAULT: Record<string, RegExp> = {
  jwtSecret: /required/,
  sessionSecret: /required/,
  loadUser: /required/,
  'cookies.refreshPath': /real path/,
  'csrf.appOrigin': /from `Host`/,
  signingKeys: /none/,
  currentSigningKey: /the first of `signingKeys`/,
  previousSessionSecrets: /none/,
  deviceLabel: /bowser/,
  sessionLimit: /off/,
  sessionLifetime: /none/,
};

/** The interfaces of session.options.ts, by name. */
function optionInterfaces(): Map<string, ts.InterfaceDeclaration> {
  const source = ts.createSourceFile(OPTIONS_FILE, readFileSync(OPTIONS_FILE, 'utf8'), ts.ScriptTarget.ES2022, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
  });
  return interfaces;
}

/** Every option name of an options interface, nested option objects as `cookies.secure` and so on. */
function optionNames(root = 'SessionModuleOptions'): string[] {
  const interfaces = optionInterfaces();
  const names = (name: string, prefix: string): string[] =>
    interfaces.get(name)!.members.flatMap((member) => {
      const key = (member.name as ts.Identifier).text;
      const type = (member as ts.PropertySignature).type;
      const nested = type && ts.isTypeReferenceNode(type) ? (type.typeName as ts.Identifier).text : undefined;
      return nested && interfaces.has(nested) ? names(nested, `${prefix}${key}.`) : [`${prefix}${key}`];
    });
  return names(root, '');
}

/**
 * A table of docs/options.md, found by its header row: name → default cell. `a / b` rows share the
 * first name's prefix.
 */
function documented(header = '| option | default | meaning |'): Map<string, string> {
  const doc = readFileSync(DOC_FILE, 'utf8');
  const start = doc.indexOf(header);
  if (start < 0) return new Map();
  const end = doc.indexOf('\n\n', start);
  const table = doc.slice(start, end < 0 ? undefined : end);
  const rows = new Map<string, string>();
  for (const line of table.split('\n').filter((l) => l.startsWith('| `'))) {
    const [nameCell, defaultCell] = line.split(' | ').map((c) => c.replace(/^\| /, ''));
    const names = [...nameCell.matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\(.*\)$/, ''));
    const prefix = names[0].includes('.') ? names[0].slice(0, names[0].lastIndexOf('.') + 1) : '';
    for (const name of names) rows.set(name.includes('.') ? name : prefix + name, defaultCell);
  }
  return rows;
}

function defaultOf(name: string): unknown {
  return name.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], SESSION_DEFAULTS);
}

/** The ways a default may be written in the table: `600` or `'10m'` for a duration, and so on. */
function spellings(value: unknown): string[] {
  if (typeof value === 'string') {
    try {
      return [value, String(parseDuration(value))];
    } catch {
      return [value];
    }
  }
  if (Array.isArray(value)) return value.length === 0 ? ['[]'] : value.map(String);
  return [String(value)];
}

/** docs/options.md's options table and the options type say the same thing. */
describe('docs/options.md, the options reference', () => {
  const options = optionNames();
  const table = documented();

  it('finds the options and the table (the parsers work)', () => {
    expect(options).toEqual(expect.arrayContaining(['jwtSecret', 'cookies.secure', 'cleanup.batchSize', 'csrf.trustedOrigins', 'revocation.cache']));
    expect(table.size).toBeGreaterThan(30);
  });

  it('documents every option', () => {
    expect(options.filter((name) => !table.has(name))).toEqual([]);
  });

  it('documents nothing that does not exist', () => {
    expect([...table.keys()].filter((name) => !options.includes(name))).toEqual([]);
  });

  it('gives every option its real default', () => {
    const wrong: string[] = [];
    for (const name of options) {
      const cell = table.get(name) ?? '';
      if (WITHOUT_DEFAULT[name]) {
        if (!WITHOUT_DEFAULT[name].test(cell)) wrong.push(`${name}: ${cell}`);
        continue;
      }
      const value = defaultOf(name);
      if (value === undefined) {
        wrong.push(`${name}: no entry in SESSION_DEFAULTS`);
        continue;
      }
      const values = typeof value === 'object' && !Array.isArray(value) ? Object.values(value as object) : [value];
      for (const v of values) if (!spellings(v).some((s) => cell.includes(s))) wrong.push(`${name}: ${cell} does not show ${JSON.stringify(v)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('documents the module extras (routePrefix, controller, dataSource) in their own table, with the real default prefix', () => {
    const extras = documented('| extra | default | meaning |');
    const names = optionNames('SessionModuleExtras');
    expect(names).toEqual(expect.arrayContaining(['routePrefix', 'controller', 'dataSource']));
    expect([...extras.keys()].sort()).toEqual([...names].sort());
    expect(extras.get('routePrefix')).toContain(`'${SESSION_DEFAULTS.routePrefix}'`);
  });
});
