/**
 * `kluis setup`: how an installation gets its operator organisation and that organisation's first
 * owner — once, audited, with a one-time password printed only then. The deployment tests set up
 * their installations with it, so the path operators use is the path that is tested.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/browser.js';
import { runCommands, testCli } from '../../../test/cli.js';
import { createTestKluis, type TestKluis } from '../../../test/dialects.js';
import { buildApp } from '../../app.js';
import { registerAuthCommands } from './auth-cli.js';

describe('kluis setup', () => {
  let kluis: TestKluis;
  let app: FastifyInstance;

  beforeAll(async () => {
    kluis = await createTestKluis({ env: { KLUIS_REQUIRE_TOTP_OPERATOR: 'false' } });
    app = await buildApp(kluis);
  });
  afterAll(async () => {
    await app.close();
    await kluis.destroy();
  });

  async function cli(...args: string[]) {
    const run = testCli({ kluis });
    return runCommands(run, [registerAuthCommands], args);
  }
  const setup = (slug: string, email: string) =>
    cli(
      'setup',
      '--name',
      'Ambrix Hosting',
      '--slug',
      slug,
      '--owner-email',
      email,
      '--owner-name',
      'Olga Owner',
    );
  const counts = async () => ({
    orgs: (await kluis.db.selectFrom('orgs').select('id').execute()).length,
    users: (await kluis.db.selectFrom('users').select('id').execute()).length,
  });

  it('refuses an impossible slug or a missing name and creates nothing', async () => {
    const before = await counts();
    const bad = await setup('Not A Slug!', 'olga@ambrix.example');
    expect(bad.error?.message).toContain('ERR_VALIDATION');
    const nameless = await cli(
      'setup',
      '--name',
      ' ',
      '--slug',
      'ambrix',
      '--owner-email',
      'o@ambrix.example',
      '--owner-name',
      'O',
    );
    expect(nameless.error?.message).toContain('ERR_VALIDATION');
    expect(await counts()).toEqual(before);
    expect(await kluis.services.orgs.findOperator()).toBeUndefined();
  });

  it('creates the operator organisation and its first owner, audited, with a one-time password that signs in', async () => {
    const { out, error } = await setup('ambrix', 'olga@ambrix.example');
    expect(error).toBeUndefined();
    const operator = await kluis.services.orgs.findOperator();
    expect([operator?.slug, operator?.name, operator?.kind]).toEqual([
      'ambrix',
      'Ambrix Hosting',
      'operator',
    ]);
    const password = /One-time password: (\S+)/.exec(out)?.[1] ?? '';
    expect(password).not.toBe('');
    const roles = await kluis.db
      .selectFrom('users')
      .innerJoin('user_roles', 'user_roles.user_id', 'users.id')
      .select('user_roles.role')
      .where('users.org_id', '=', operator?.id ?? '')
      .execute();
    expect(roles.map((r) => r.role).sort()).toEqual(['admin', 'owner']);
    const actions = await kluis.db
      .selectFrom('audit_log')
      .select(['action', 'actor'])
      .where('org_id', '=', operator?.id ?? '')
      .orderBy('seq')
      .execute();
    expect(actions.map((a) => a.action)).toEqual(['orgs.operator.created', 'auth.user.created']);
    expect(actions.every((a) => a.actor === 'system:cli:setup')).toBe(true);
    // The printed password is the owner's: signing in with it leads to choosing a new one.
    const signIn = await new Browser(app).login('olga@ambrix.example', password);
    expect(signIn.statusCode).toBe(303);
    expect(signIn.headers.location).toMatch(/password/);
  });

  it('refuses a second operator organisation, whatever its slug, and adds no one', async () => {
    const before = await counts();
    const again = await setup('ambrix-2', 'mallory@evil.example');
    expect(again.error?.message).toContain('ERR_CONFLICT');
    expect(again.out).not.toContain('One-time password');
    expect(await counts()).toEqual(before);
  });
});
