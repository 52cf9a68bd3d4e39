import { join } from 'node:path';
import ts from 'typescript';

const BARREL = join(__dirname, '..', 'libs', 'session', 'src', 'index.ts');

/** Every name `nest-sessions` exports, and whether its declaration carries a doc comment. */
function exportsOfBarrel(): Array<{ name: string; documented: boolean }> {
  const program = ts.createProgram([BARREL], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    experimentalDecorators: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const barrel = checker.getSymbolAtLocation(program.getSourceFile(BARREL)!)!;
  return checker.getExportsOfModule(barrel).map((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    return { name: exported.getName(), documented: ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim().length > 0 };
  });
}

/** The API reference (`npm run docs`, TypeDoc) is written from these comments: none may be missing. */
describe('the public API is documented', () => {
  it('every export of nest-sessions has a doc comment', () => {
    const exported = exportsOfBarrel();
    expect(exported.length).toBeGreaterThan(50);
    expect(exported.filter((e) => !e.documented).map((e) => e.name)).toEqual([]);
  });
});
