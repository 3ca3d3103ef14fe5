/**
 * Dependency rules (issue 11): modules depend on each other one way, only through each other's
 * public surface (the manifest file, `index.ts`), and the layers under the modules (shared, db,
 * crypto, config) never reach up into a module at run time. `npm run depcheck` runs them; CI
 * fails on any violation. Type-only imports are allowed across these lines (they vanish when
 * compiled): the database type is the union of every module's tables, for instance.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/**
 * The module folders in the order of the one module list (src/modules/index.ts): a module may
 * use modules before it, never one after it. That makes every cycle between modules a violation
 * (and says which import closes it), where a file-level cycle check would miss a cycle that runs
 * through different files of the same two modules.
 */
function moduleLayers() {
  const index = readFileSync(join(__dirname, 'src/modules/index.ts'), 'utf8');
  const folders = {};
  for (const m of index.matchAll(/import \{ (\w+) \} from '\.\/([a-z-]+)\/index\.js';/g))
    folders[m[1]] = m[2];
  const list = /export const modules[^=]*=\s*\[([^\]]*)\]/.exec(index);
  if (list === null)
    throw new Error('.dependency-cruiser.cjs: cannot find the module list in src/modules/index.ts');
  const order = list[1]
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
    .map((name) => {
      if (folders[name] === undefined) throw new Error(`.dependency-cruiser.cjs: no import for ${name}`);
      return folders[name];
    });
  return order;
}

const layers = moduleLayers();

module.exports = {
  forbidden: [
    ...layers.slice(0, -1).map((folder, i) => ({
      name: 'no-module-cycle',
      severity: 'error',
      comment:
        `${folder} comes before ${layers.slice(i + 1).join(', ')} in src/modules/index.ts, so it may not use ` +
        'them: modules depend one way (a cycle between two modules means neither can be understood, ' +
        'tested or removed on its own). Move the shared part down, or hand it in through the manifest.',
      from: { path: `^src/modules/${folder}/`, pathNot: '\\.test\\.ts$' },
      to: {
        path: `^src/modules/(${layers.slice(i + 1).join('|')})/`,
        dependencyTypesNot: ['type-only'],
      },
    })),
    {
      name: 'no-file-cycle',
      severity: 'error',
      comment: 'No import cycle between files at run time either.',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: {
        circular: true,
        dependencyTypesNot: ['type-only'],
        viaOnly: { dependencyTypesNot: ['type-only'] },
      },
    },
    {
      name: 'only-public-surface',
      severity: 'error',
      comment:
        "A module imports another module only through that module's manifest file " +
        '(src/modules/<module>/index.ts), never one of its inner files.',
      from: { path: '^src/modules/([^/]+)/', pathNot: '\\.test\\.ts$' },
      to: {
        path: '^src/modules/[^/]+/',
        pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/index\\.ts$'],
      },
    },
    {
      name: 'lower-layers-know-no-module',
      severity: 'error',
      comment:
        'shared/, db/, crypto/ and config/ are what modules are built on: they never import a ' +
        'module (nor the composition root) at run time.',
      from: { path: '^src/(shared|db|crypto|config)/', pathNot: '\\.test\\.ts$' },
      to: {
        path: ['^src/modules/', '^src/(app|kluis|cli)\\.ts$', '^src/cli/'],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'modules-know-no-composition-root',
      severity: 'error',
      comment:
        'Modules get what they need handed in; they never import app.ts, kluis.ts or the CLI at run time.',
      from: { path: '^src/modules/', pathNot: '\\.test\\.ts$' },
      to: { path: ['^src/(app|kluis|cli)\\.ts$', '^src/cli/'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    reporterOptions: {
      dot: {
        collapsePattern: '^src/(modules/[^/]+|[^/]+)',
      },
    },
  },
};
