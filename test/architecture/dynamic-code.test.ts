/**
 * ASVS 1.3.2: no dynamic code execution. The source tree (src/, scripts/, the static assets in
 * public/) is parsed with the TypeScript compiler, so comments and strings that merely mention
 * `eval` do not count, and every call of `eval`, `Function` (with or without `new`), a string
 * handed to `setTimeout`/`setInterval`, and any import of Node's `vm` module is reported.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|js|mjs|cjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

const vmModules = new Set(['vm', 'node:vm']);

/** The dynamic-code constructs in one file, as `line: text`. */
function dynamicCodeIn(name: string, text: string): string[] {
  const file = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const report = (node: ts.Node) =>
    found.push(`${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}: ${node.getText(file)}`);
  // `globalThis.eval`, `window['Function']`: the name as called, whatever it hangs from.
  const calleeName = (e: ts.Expression): string | undefined => {
    if (ts.isIdentifier(e)) return e.text;
    if (ts.isPropertyAccessExpression(e)) return e.name.text;
    if (ts.isElementAccessExpression(e) && ts.isStringLiteralLike(e.argumentExpression))
      return e.argumentExpression.text;
    return undefined;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const callee = calleeName(node.expression);
      const first = node.arguments?.[0];
      if (callee === 'eval' || callee === 'Function') report(node);
      else if (
        (callee === 'setTimeout' || callee === 'setInterval') &&
        first !== undefined &&
        (ts.isStringLiteralLike(first) || ts.isTemplateExpression(first))
      )
        report(node);
      else if (
        callee === 'require' &&
        first !== undefined &&
        ts.isStringLiteralLike(first) &&
        vmModules.has(first.text)
      )
        report(node);
    }
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteralLike(node.moduleSpecifier) &&
      vmModules.has(node.moduleSpecifier.text)
    )
      report(node);
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const first = node.arguments[0];
      if (first !== undefined && ts.isStringLiteralLike(first) && vmModules.has(first.text)) report(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe('no dynamic code execution (ASVS 1.3.2)', () => {
  it('finds no eval, Function constructor, string timer or vm module in src/, scripts/ or public/', () => {
    const files = ['src', 'scripts', 'public'].flatMap((d) => sourceFiles(join(root, d)));
    expect(files.length).toBeGreaterThan(300);
    const found = files.flatMap((path) =>
      dynamicCodeIn(path, readFileSync(path, 'utf8')).map((hit) => `${relative(root, path)}:${hit}`),
    );
    expect(found).toEqual([]);
  });

  it('catches each construct, however it is spelled, and ignores mere mentions', () => {
    const attacks = [
      'eval(input);',
      'globalThis.eval(input);',
      'const f = new Function("a", body);',
      'const g = Function(body);',
      "const h = globalThis['Function'](body);",
      'setTimeout("alert(1)", 10);',
      // A template with a placeholder, spelled so that the linter does not read it as one here.
      'setInterval(`run($' + '{x})`, 10);',
      "import vm from 'node:vm';",
      "import { runInNewContext } from 'vm';",
      "const vm = require('vm');",
      "const vm = await import('node:vm');",
    ];
    for (const attack of attacks) expect(dynamicCodeIn('x.ts', attack), attack).toHaveLength(1);
    const harmless = [
      '// eval(input) would be wrong here',
      "const word = 'new Function(x)';",
      'setTimeout(() => run(), 10);',
      'const evaluate = (x: number) => x;',
      "import { readFile } from 'node:fs';",
    ];
    for (const text of harmless) expect(dynamicCodeIn('x.ts', text), text).toEqual([]);
  });
});
