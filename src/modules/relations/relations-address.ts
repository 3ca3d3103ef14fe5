/**
 * Billing addresses (P4): country, city, postcode, street, house number (+ addition), validated
 * and normalised before anything is stored. Pure, no I/O.
 *
 * - Country: ISO 3166-1 alpha-2 (the list ibantools ships), upper case.
 * - Netherlands: postcode `1234 AB` (first digit not 0; SA, SD and SS are never issued), house
 *   number numeric (1–99999) with an optional addition ("12A" is split into 12 + A).
 * - Other countries: the postcode rules of `postcode-validator` where it has them (DE, BE, FR,
 *   …), a permissive pattern where it has none (the postcode is then optional); house numbers as
 *   written, up to 16 characters.
 */
import { getCountrySpecifications } from 'ibantools';
import { postcodeValidator, postcodeValidatorExistsForCountry } from 'postcode-validator';
import type { MessageKey } from '../../shared/i18n/messages.js';

const isoCountries: ReadonlySet<string> = new Set(Object.keys(getCountrySpecifications()));

function isCountryCode(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && isoCountries.has(code);
}

/** Every ISO 3166-1 alpha-2 code, sorted by name in `locale` (for the country select). */
export function countryOptions(locale: string): { code: string; name: string }[] {
  const names = new Intl.DisplayNames([locale], { type: 'region', fallback: 'code' });
  return [...isoCountries]
    .map((code) => ({ code, name: names.of(code) ?? code }))
    .sort((a, b) => a.name.localeCompare(b.name, locale));
}

export function countryName(locale: string, code: string): string {
  return new Intl.DisplayNames([locale], { type: 'region', fallback: 'code' }).of(code) ?? code;
}

export interface BillingAddressInput {
  readonly country?: string | undefined;
  readonly city?: string | undefined;
  readonly postcode?: string | undefined;
  readonly street?: string | undefined;
  readonly houseNumber?: string | undefined;
  readonly houseNumberAddition?: string | undefined;
}

export interface BillingAddress {
  readonly country: string;
  readonly city: string;
  readonly postcode: string;
  readonly street: string;
  readonly houseNumber: string;
  readonly houseNumberAddition: string | null;
}

export type Validated<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errors: Record<string, MessageKey> };

const oneLine = (s: string | undefined): string =>
  (s ?? '')
    .normalize('NFC')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/** `1234ab`, `1234 ab`, ` 1234  AB ` → `1234 AB`; undefined when not a Dutch postcode that can exist. */
export function normaliseDutchPostcode(input: string): string | undefined {
  const compact = input.replace(/\s+/g, '').toUpperCase();
  const match = /^([1-9][0-9]{3})([A-Z]{2})$/.exec(compact);
  if (match === null) return undefined;
  const [, digits, letters] = match;
  if (letters === undefined || digits === undefined) return undefined;
  if (letters === 'SA' || letters === 'SD' || letters === 'SS') return undefined;
  return `${digits} ${letters}`;
}

/** A postcode for `country`, normalised, or undefined when it cannot be one. '' where none is used. */
function normalisePostcode(country: string, input: string): string | undefined {
  if (country === 'NL') return normaliseDutchPostcode(input);
  const value = oneLine(input).toUpperCase();
  if (postcodeValidatorExistsForCountry(country)) {
    return value !== '' && postcodeValidator(value, country) ? value : undefined;
  }
  if (value === '') return '';
  return /^[A-Z0-9][A-Z0-9 -]{1,10}$/.test(value) ? value : undefined;
}

/** Validates and normalises a billing address; every problem at once, as message keys per field. */
export function validateBillingAddress(input: BillingAddressInput): Validated<BillingAddress> {
  const errors: Record<string, MessageKey> = {};
  const country = oneLine(input.country).toUpperCase();
  const city = oneLine(input.city);
  const street = oneLine(input.street);
  let houseNumber = oneLine(input.houseNumber);
  let addition = oneLine(input.houseNumberAddition);

  if (!isCountryCode(country)) errors.country = 'relations.address.countryInvalid';
  if (city === '') errors.city = 'relations.address.cityRequired';
  else if (city.length > 100) errors.city = 'field.tooLong';
  if (street === '') errors.street = 'relations.address.streetRequired';
  else if (street.length > 200) errors.street = 'field.tooLong';

  let postcode: string | undefined;
  if (errors.country === undefined) {
    postcode = normalisePostcode(country, input.postcode ?? '');
    if (postcode === undefined) {
      errors.postcode =
        country === 'NL' ? 'relations.address.postcodeNl' : 'relations.address.postcodeInvalid';
    }
  }

  if (country === 'NL') {
    // "12A", "12-A", "12 bis" typed in the number field: split off the addition.
    const split = /^([0-9]+)[\s-]*([A-Za-z0-9].*)?$/.exec(houseNumber);
    if (split !== null && split[2] !== undefined && addition === '') {
      houseNumber = split[1] ?? houseNumber;
      addition = split[2];
    }
    if (houseNumber === '') errors.houseNumber = 'relations.address.houseNumberRequired';
    else if (!/^[1-9][0-9]{0,4}$/.test(houseNumber)) errors.houseNumber = 'relations.address.houseNumberNl';
    if (addition !== '' && !/^[A-Za-z0-9][A-Za-z0-9 ./-]{0,9}$/.test(addition)) {
      errors.houseNumberAddition = 'relations.address.additionInvalid';
    }
  } else {
    if (houseNumber === '') errors.houseNumber = 'relations.address.houseNumberRequired';
    else if (houseNumber.length > 16) errors.houseNumber = 'field.tooLong';
    if (addition.length > 10) errors.houseNumberAddition = 'relations.address.additionInvalid';
  }

  if (Object.keys(errors).length > 0 || postcode === undefined) return { ok: false, errors };
  return {
    ok: true,
    value: {
      country,
      city,
      postcode,
      street,
      houseNumber,
      houseNumberAddition: addition === '' ? null : country === 'NL' ? addition.toUpperCase() : addition,
    },
  };
}

/** Lines of the address as a letter from a Dutch sender shows it ("Straat 12 A", "1234 AB  PLAATS"). */
export function addressLines(locale: string, a: BillingAddress): string[] {
  const number = a.houseNumberAddition === null ? a.houseNumber : `${a.houseNumber} ${a.houseNumberAddition}`;
  if (a.country === 'NL') {
    return [`${a.street} ${number}`, `${a.postcode}  ${a.city.toUpperCase()}`];
  }
  return [
    `${a.street} ${number}`,
    [a.postcode, a.city].filter((s) => s !== '').join(' '),
    countryName(locale, a.country).toUpperCase(),
  ];
}
