/**
 * Lists the longest functions in src/ (test files left out), counted in source lines from the
 * function's first line to its last. Issue 11 allows none over 150 lines; the unit test
 * `test/architecture/function-length.test.ts` keeps that true.
 *
 *   npx tsx scripts/long-functions.ts [--top N] [--over LINES]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface FunctionLength {
  file: string;
  name: string;
  line: number;
  lines: number;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** A readable name: the declaration's own, else the variable or property it is assigned to. */
function nameOf(node: ts.Node, file: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name) return named.name.getText(file);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText(file);
  if (ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(file).slice(0, 40)})`;
  return '(anonymous)';
}

function isFunctionLike(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

/** Every function in the tree below `srcDir`, longest first. */
export function functionLengths(srcDir: string, root = join(srcDir, '..')): FunctionLength[] {
  const found: FunctionLength[] = [];
  for (const path of sourceFiles(srcDir)) {
    const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (isFunctionLike(node) && node.body) {
        const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
        const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
        found.push({
          file: relative(root, path),
          name: nameOf(node, file),
          line: start + 1,
          lines: end - start + 1,
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return found.sort((a, b) => b.lines - a.lines);
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (flag: string, fallback: number): number => {
    const at = args.indexOf(flag);
    const value = at >= 0 ? Number(args[at + 1]) : Number.NaN;
    return Number.isInteger(value) && value > 0 ? value : fallback;
  };
  const all = functionLengths(join(import.meta.dirname, '..', 'src'));
  const over = option('--over', 0);
  const shown = over > 0 ? all.filter((f) => f.lines > over) : all.slice(0, option('--top', 10));
  for (const f of shown) console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}`);
  console.log(`${all.filter((f) => f.lines >= 100).length} functions of 100 lines or more`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) main();
