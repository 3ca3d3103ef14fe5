/** Where Kluis's own files are, and its version (printed by the CLI, shown on the health page). */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (the folder with package.json), from src/ or from dist/. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The self-hosted assets (stylesheet, icons). */
export const publicDir = resolve(projectRoot, 'public');

let version: string | undefined;

export function kluisVersion(): string {
  if (version === undefined) {
    const pkg = JSON.parse(readFileSync(resolve(projectRoot, 'package.json'), 'utf8')) as { version: string };
    version = pkg.version;
  }
  return version;
}
