/**
 * Demo data for `npm start`: the operator organisation (Ambrix) and its first admin when the
 * database is empty. Returns lines for the start banner, including the admin's one-time
 * password (printed once; it must be changed at first sign-in).
 */
import type { Kluis } from '../kluis.js';
import { cliActor, createUserFromCli } from '../modules/auth/auth-cli.js';
import { seedIntakeDemo } from '../modules/intake/intake-demo.js';
import { seedRelationsDemo } from '../modules/relations/relations-demo.js';
import { seedStatementDemo } from '../modules/statement/statement-demo.js';

export const DEMO_ADMIN_EMAIL = 'admin@ambrix.example';

export async function seedDemo(kluis: Kluis): Promise<string[]> {
  const { orgs, auth } = kluis.services;
  const lines: string[] = [];
  let operator = await orgs.findOperator();
  if (operator === undefined) {
    operator = await orgs.insert({
      kind: 'operator',
      name: 'Ambrix',
      slug: 'ambrix',
      now: kluis.clock.now().toISOString(),
    });
    lines.push('  Demo data: operator organisation Ambrix created');
  }
  const existing = await auth.findUserByEmail({
    actor: cliActor(operator, 'demo-seed'),
    email: DEMO_ADMIN_EMAIL,
  });
  if (existing !== undefined) {
    lines.push(
      lines.length === 0 ? '  Demo data: already present' : '',
      `  First login: ${DEMO_ADMIN_EMAIL} (forgot the password? kluis user reset --org ${operator.slug} --email ${DEMO_ADMIN_EMAIL})`,
    );
    return lines.filter((l) => l !== '');
  }
  const admin = await createUserFromCli(kluis, {
    org: operator.slug,
    email: DEMO_ADMIN_EMAIL,
    name: 'Ambrix Admin',
    roles: ['owner', 'admin', 'security', 'privacy_officer'],
    command: 'demo-seed',
  });
  lines.push(
    `  First login: ${kluis.config.publicOrigin}/login as ${admin.email}`,
    `  One-time password: ${admin.oneTimePassword}  (you will be asked to change it${
      kluis.config.requireTotpForOperator ? ' and to set up two-step verification' : ''
    })`,
  );
  lines.push(...(await seedIntakeDemo(kluis, operator, admin.userId)));
  lines.push(...(await seedRelationsDemo(kluis, operator)));
  lines.push(...(await seedStatementDemo(kluis, operator)));
  return lines;
}
