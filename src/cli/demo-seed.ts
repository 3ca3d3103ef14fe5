/**
 * Demo data for `npm start`: the operator organisation (Ambrix) when the database is empty.
 * Returns lines for the start banner.
 */
import type { Kluis } from '../kluis.js';
import { createOrgsRepository } from '../modules/orgs/orgs-repository.js';

export async function seedDemo(kluis: Kluis): Promise<string[]> {
  const orgs = createOrgsRepository(kluis.db);
  if ((await orgs.findOperator()) !== undefined) return ['  Demo data: already present'];
  await orgs.insert({
    kind: 'operator',
    name: 'Ambrix',
    slug: 'ambrix',
    now: kluis.clock.now().toISOString(),
  });
  return ['  Demo data: operator organisation Ambrix created'];
}
