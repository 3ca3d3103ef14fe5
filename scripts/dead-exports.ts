/**
 * Lists exports in src/ that nothing imports: not another source file, a test, a bench or a
 * script. An import through a re-export (a module's index.ts) counts for the original
 * declaration; a re-export nobody imports counts for nothing. Exports that only their own file
 * uses are listed too (the `export` keyword can go).
 *
 *   npx tsx scripts/dead-exports.ts
 */
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..');

export interface DeadExport {
  readonly file: string;
  readonly name: string;
  readonly line: number;
}

function original(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

/** Every symbol some import (or `import()` type, or export-from that is itself used) names. */
function importedSymbols(program: ts.Program, checker: ts.TypeChecker): Set<ts.Symbol> {
  const used = new Set<ts.Symbol>();
  for (const file of program.getSourceFiles()) {
    if (file.isDeclarationFile || file.fileName.includes('node_modules')) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isImportSpecifier(node) || ts.isImportClause(node) || ts.isNamespaceImport(node)) {
        const name = ts.isImportClause(node) ? node.name : node.name;
        const symbol = name ? checker.getSymbolAtLocation(name) : undefined;
        if (symbol) used.add(original(checker, symbol));
        if (ts.isNamespaceImport(node)) {
          const ns = symbol ? original(checker, symbol) : undefined;
          // A namespace import uses everything the module exports.
          if (ns) for (const e of checker.getExportsOfModule(ns)) used.add(original(checker, e));
        }
      } else if (ts.isImportTypeNode(node) && node.qualifier) {
        const symbol = checker.getSymbolAtLocation(node.qualifier);
        if (symbol) used.add(original(checker, symbol));
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return used;
}

/** Whether `symbol` is referred to in its own file other than by its declaration. */
function usedLocally(file: ts.SourceFile, checker: ts.TypeChecker, symbol: ts.Symbol): boolean {
  const declarations = new Set(symbol.declarations ?? []);
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (
      ts.isIdentifier(node) &&
      node.text === symbol.name &&
      !declarations.has(node.parent as ts.Declaration)
    ) {
      const at = checker.getSymbolAtLocation(node);
      if (at && original(checker, at) === symbol && !ts.isExportSpecifier(node.parent)) found = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

export function deadExports(): { unused: DeadExport[]; localOnly: DeadExport[] } {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => undefined,
    },
  );
  if (config === undefined) throw new Error('tsconfig.json is not readable');
  const program = ts.createProgram(config.fileNames, config.options);
  const checker = program.getTypeChecker();
  const used = importedSymbols(program, checker);
  const unused: DeadExport[] = [];
  const localOnly: DeadExport[] = [];
  for (const file of program.getSourceFiles()) {
    const path = relative(root, file.fileName);
    if (!path.startsWith('src/') || path.endsWith('.test.ts')) continue;
    const moduleSymbol = checker.getSymbolAtLocation(file);
    if (moduleSymbol === undefined) continue;
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = original(checker, exported);
      if (used.has(symbol)) continue;
      const declaration = exported.declarations?.[0];
      // Re-exports (`export { x } from`) are judged at the original declaration.
      if (declaration === undefined || ts.isExportSpecifier(declaration)) continue;
      const line = file.getLineAndCharacterOfPosition(declaration.getStart(file)).line + 1;
      const entry = { file: path, name: exported.name, line };
      (usedLocally(file, checker, symbol) ? localOnly : unused).push(entry);
    }
  }
  return { unused, localOnly };
}

function main(): void {
  const { unused, localOnly } = deadExports();
  for (const d of unused) console.log(`unused      ${d.file}:${d.line}  ${d.name}`);
  for (const d of localOnly) console.log(`local only  ${d.file}:${d.line}  ${d.name}`);
  console.log(`${unused.length} exports nothing uses; ${localOnly.length} used only in their own file`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) main();
