/**
 * The one salutation function (P4): the statement processes gender only to address people
 * correctly, so a person's recorded form of address (`mr` → "dhr."/"Mr", `ms` → "mevr."/"Ms",
 * `neutral` → the full name, no title) is all letters and emails use. Pure, no I/O.
 *
 * Dutch convention: a surname prefix ("de", "van der") is capitalised when the surname stands
 * without a first name ("Geachte heer De Vries"), and stays lower case after a first name
 * ("Sam de Vries").
 */
import type { Locale } from '../../shared/i18n/messages.js';
import type { FormOfAddress } from './relations-schema.js';

export interface SalutationPerson {
  readonly formOfAddress: FormOfAddress;
  readonly firstName?: string | undefined;
  readonly lastName: string;
  /** Defaults to first name + last name. */
  readonly fullName?: string | undefined;
}

/** Formal for letters and first contact; informal ("Beste Sam,") where the relation uses first names. */
export type SalutationRegister = 'formal' | 'informal';

const dutchPrefixes = [
  "in 't",
  'in de',
  'in het',
  'op de',
  'op den',
  'op het',
  'van de',
  'van den',
  'van der',
  'van het',
  "van 't",
  'de',
  'den',
  'der',
  'het',
  "'t",
  'te',
  'ten',
  'ter',
  'van',
  'op',
  'in',
];

const clean = (s: string | undefined): string => (s ?? '').normalize('NFC').replace(/\s+/g, ' ').trim();

/** "de Vries" → "De Vries" (only for Dutch surname prefixes; "von Trapp" stays as written). */
function surnameAlone(lastName: string): string {
  const name = clean(lastName);
  const lower = name.toLowerCase();
  const prefix = dutchPrefixes.find((p) => lower.startsWith(`${p} `));
  // "'t Hart" keeps its apostrophe form; an already capitalised name is left alone.
  if (prefix === undefined || name.startsWith("'")) return name;
  return `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
}

function fullNameOf(p: SalutationPerson): string {
  const full = clean(p.fullName);
  if (full !== '') return full;
  return [clean(p.firstName), clean(p.lastName)].filter((s) => s !== '').join(' ');
}

const titles: Record<
  Locale,
  Record<Exclude<FormOfAddress, 'neutral'>, { salutation: string; short: string }>
> = {
  nl: { mr: { salutation: 'heer', short: 'dhr.' }, ms: { salutation: 'mevrouw', short: 'mevr.' } },
  en: { mr: { salutation: 'Mr', short: 'Mr' }, ms: { salutation: 'Ms', short: 'Ms' } },
};

const openings: Record<Locale, Record<SalutationRegister, string>> = {
  nl: { formal: 'Geachte', informal: 'Beste' },
  en: { formal: 'Dear', informal: 'Hi' },
};

/**
 * The opening line of a letter or email, with its comma.
 *
 *   nl formal:   Geachte heer De Vries, · Geachte mevrouw De Vries, · Geachte Sam de Vries,
 *   nl informal: Beste Sam, (without a first name: Beste heer De Vries, · Beste Sam de Vries,)
 *   en formal:   Dear Mr De Vries, · Dear Ms De Vries, · Dear Sam de Vries,
 *   en informal: Hi Sam, (without a first name as formal, with "Hi")
 */
export function salutation(
  locale: Locale,
  person: SalutationPerson,
  register: SalutationRegister = 'formal',
): string {
  const opening = openings[locale][register];
  const first = clean(person.firstName);
  if (register === 'informal' && first !== '') return `${opening} ${first},`;
  if (person.formOfAddress === 'neutral') return `${opening} ${fullNameOf(person)},`;
  const title = titles[locale][person.formOfAddress].salutation;
  return `${opening} ${title} ${surnameAlone(person.lastName)},`;
}

/** The addressee line of a letter or envelope: "dhr. Sam de Vries", "Ms Sam de Vries", "Sam de Vries". */
export function addressee(locale: Locale, person: SalutationPerson): string {
  const full = fullNameOf(person);
  if (person.formOfAddress === 'neutral') return full;
  return `${titles[locale][person.formOfAddress].short} ${full}`;
}
