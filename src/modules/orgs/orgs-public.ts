/**
 * The organisation a public page belongs to: the tenant named by `:slug` in the path
 * (`/o/:slug/contact`, `/en/o/:slug/rights`), else the operator. An unknown slug is a 404.
 */
import { z } from 'zod';
import { AppError } from '../../shared/errors.js';
import type { Org, OrgsRepository } from './orgs-repository.js';

const slugParams = z.object({ slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}$/) });

export async function publicOrgOf(orgs: OrgsRepository, params: unknown): Promise<Org> {
  const slug = (params as Record<string, unknown> | undefined)?.slug;
  if (slug === undefined) {
    const operator = await orgs.findOperator();
    if (operator === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'no operator organisation' });
    return operator;
  }
  const parsed = slugParams.safeParse({ slug });
  const org = parsed.success ? await orgs.findBySlug(parsed.data.slug) : undefined;
  if (org === undefined) throw new AppError('ERR_NOT_FOUND', { message: 'no organisation with this slug' });
  return org;
}
