/**
 * Writes the generated part of docs/architecture.md: the module dependency picture (from
 * dependency-cruiser's analysis of the real imports, run-time edges only) and the table of what
 * each module's manifest contributes (from the module list itself). `--check` fails when the file
 * is not current, so CI keeps the picture true to the code.
 *
 *   npx tsx scripts/architecture.ts [--check]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modules } from '../src/modules/index.js';
import { roles } from '../src/shared/actor.js';
import { permissionsOf, purposeRoles } from '../src/shared/permissions.js';

const root = join(import.meta.dirname, '..');
const docFile = join(root, 'docs', 'architecture.md');
const START = '<!-- generated:start (npm run arch) -->';
const END = '<!-- generated:end -->';

interface CruiseResult {
  modules: { source: string; dependencies: { resolved: string; dependencyTypes: string[] }[] }[];
}

/** `src/modules/<name>/…` → `<name>`; the layers under the modules by their folder. */
function unitOf(path: string): string | undefined {
  const m = /^src\/modules\/([^/]+)\//.exec(path);
  if (m) return m[1];
  const layer = /^src\/(shared|db|crypto|config)\//.exec(path);
  return layer ? layer[1] : undefined;
}

function moduleEdges(): Map<string, Set<string>> {
  const json = execFileSync(
    join(root, 'node_modules', '.bin', 'depcruise'),
    ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
    { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const result = JSON.parse(json) as CruiseResult;
  const edges = new Map<string, Set<string>>();
  for (const m of result.modules) {
    const from = unitOf(m.source);
    if (from === undefined || !modules.some((x) => x.name === from)) continue;
    for (const d of m.dependencies) {
      if (d.dependencyTypes.includes('type-only')) continue;
      const to = unitOf(d.resolved);
      if (to === undefined || to === from || !modules.some((x) => x.name === to)) continue;
      const set = edges.get(from) ?? new Set<string>();
      set.add(to);
      edges.set(from, set);
    }
  }
  return edges;
}

function picture(): string {
  const edges = moduleEdges();
  const lines = ['```mermaid', 'flowchart TB'];
  for (const m of modules) lines.push(`  ${m.name}[${m.name}]`);
  for (const m of modules) {
    for (const to of [...(edges.get(m.name) ?? [])].sort()) lines.push(`  ${m.name} --> ${to}`);
  }
  lines.push('```');
  return lines.join('\n');
}

function contributions(): string {
  const rows = modules.map((m) => {
    const count = (n: number | undefined, one: string, many: string) =>
      n === undefined || n === 0 ? '' : `${n} ${n === 1 ? one : many}`;
    const parts = [
      count(m.tables?.length, 'table', 'tables'),
      count(m.catalogue?.fields.length, 'personal field', 'personal fields'),
      count(m.migrations === undefined ? 0 : Object.keys(m.migrations).length, 'migration', 'migrations'),
      m.personalData ? 'personal-data provider' : '',
      count(m.schedules?.length, 'schedule', 'schedules'),
      count(m.navigation?.length, 'menu entry', 'menu entries'),
      m.cli ? 'CLI commands' : '',
      m.routes ? 'routes' : '',
    ].filter((p) => p !== '');
    return `| ${m.name} | ${(m.provides ?? []).join(', ') || '—'} | ${(m.needs ?? []).join(', ') || '—'} | ${parts.join(', ')} |`;
  });
  return ['| module | provides | needs | contributes |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** What each role may do: the one permission table, read the other way round. */
function rolesTable(): string {
  const rows = roles.map((role) => {
    const purpose = (purposeRoles as readonly string[]).includes(role) ? ' (purpose role)' : '';
    return `| ${role}${purpose} | ${permissionsOf(role)
      .map((p) => `\`${p}\``)
      .join(', ')} |`;
  });
  return ['| role | permissions (src/shared/permissions.ts) |', '| --- | --- |', ...rows].join('\n');
}

const generated = `${START}\n\n### Modules, in the order of src/modules/index.ts\n\n${contributions()}\n\n### What each role may do\n\nPurpose roles give access to personal data for a purpose and are never self-assigned: an owner or admin cannot give one to itself (another owner or admin must, audited).\n\n${rolesTable()}\n\n### Run-time imports between modules (dependency-cruiser)\n\nAn arrow points from a module to one it uses. Every module also uses the layers below (shared, db, crypto, config), which use none of them.\n\n${picture()}\n\n${END}`;

const current = readFileSync(docFile, 'utf8');
const start = current.indexOf(START);
const end = current.indexOf(END);
if (start < 0 || end < 0) throw new Error(`docs/architecture.md lacks the ${START} … ${END} markers`);
const next = current.slice(0, start) + generated + current.slice(end + END.length);

if (process.argv.includes('--check')) {
  if (next !== current) {
    process.stderr.write('docs/architecture.md is not current: run `npm run arch` and commit it.\n');
    process.exit(1);
  }
  process.stdout.write('docs/architecture.md is current\n');
} else {
  writeFileSync(docFile, next);
  process.stdout.write('docs/architecture.md written\n');
}
