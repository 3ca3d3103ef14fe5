/**
 * Who the organisation is, as its statement says it (P13): the published name and contact
 * details, the privacy address, the link to its general terms and the channels through which
 * people reach it. One row per org; an org that saved nothing gets the defaults below.
 */
import { z } from 'zod';
import type { OrgInfo } from './register-orgs.js';
import type { SettingsRow } from './register-repository.js';

export const channels = ['web_form', 'email', 'phone', 'api', 'other'] as const;
export type Channel = (typeof channels)[number];

/**
 * The general terms of the operator as the seed statement links them (P13). A default only:
 * every org sets its own link in the register settings.
 */
const DEFAULT_OPERATOR_TERMS_URL = 'http://av.ambrix.nl/';

export interface RegisterSettings {
  /** The name the statement uses: the display name, or the org's name. */
  readonly name: string;
  readonly displayName: string;
  readonly contactAddress: string;
  readonly contactEmail: string;
  readonly privacyEmail: string;
  readonly phone: string;
  readonly website: string;
  readonly termsUrl: string;
  readonly channels: readonly Channel[];
  readonly updatedAt: string | null;
}

const oneLine = (max: number) =>
  z
    .string()
    .trim()
    .max(max, { message: 'field.tooLong' })
    .regex(/^[^\r\n]*$/, { message: 'field.invalid' });

const webUrl = z
  .string()
  .trim()
  .max(500, { message: 'field.tooLong' })
  .refine((v) => v === '' || /^https?:\/\/[^\s<>"]+$/i.test(v), { message: 'register.settings.invalidUrl' });

const optionalEmail = z
  .string()
  .trim()
  .max(254, { message: 'field.tooLong' })
  .refine((v) => v === '' || z.email().safeParse(v).success, { message: 'field.invalidEmail' });

export const settingsInput = z.object({
  displayName: oneLine(200).default(''),
  contactAddress: z.string().trim().max(1000, { message: 'field.tooLong' }).default(''),
  contactEmail: optionalEmail.default(''),
  privacyEmail: optionalEmail.default(''),
  phone: oneLine(50).default(''),
  website: webUrl.default(''),
  termsUrl: webUrl.default(''),
  channels: z.array(z.enum(channels)).max(channels.length).default([]),
});
export type SettingsInput = z.input<typeof settingsInput>;

/** The settings an organisation's owners and admins keep themselves (`settings.manage`). */
export const orgSettingsInput = settingsInput.pick({
  displayName: true,
  termsUrl: true,
  contactEmail: true,
  privacyEmail: true,
});
export type OrgSettingsInput = z.input<typeof orgSettingsInput>;

const channelList = z.array(z.string()).catch([]);

export function settingsFrom(org: OrgInfo, row: SettingsRow | undefined): RegisterSettings {
  if (row === undefined) {
    return {
      name: org.name,
      displayName: '',
      contactAddress: '',
      contactEmail: '',
      privacyEmail: '',
      phone: '',
      website: '',
      termsUrl: org.kind === 'operator' ? DEFAULT_OPERATOR_TERMS_URL : '',
      channels: ['web_form', 'email', 'phone', 'other'],
      updatedAt: null,
    };
  }
  const stored = channelList.parse(JSON.parse(row.channels));
  return {
    name: row.display_name === null || row.display_name === '' ? org.name : row.display_name,
    displayName: row.display_name ?? '',
    contactAddress: row.contact_address,
    contactEmail: row.contact_email,
    privacyEmail: row.privacy_email,
    phone: row.phone,
    website: row.website,
    termsUrl: row.terms_url,
    channels: channels.filter((c) => stored.includes(c)),
    updatedAt: row.updated_at,
  };
}
