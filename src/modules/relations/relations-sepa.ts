/**
 * SEPA checks for direct-debit mandates (P4), pure and without I/O: IBAN check digits and
 * country formats (ibantools), BIC format, Dutch IBAN ↔ BIC bank-code consistency, the masked
 * IBAN support may see (P5), creditor identifiers (ISO 7064 MOD 97-10), mandate references, euro
 * amounts, the SEPA character set, and which sequence type (FRST/RCUR/OOFF) a collection gets.
 */
import {
  electronicFormatIBAN,
  extractIBAN,
  isSEPACountry,
  isValidBIC,
  ValidationErrorsIBAN,
  validateIBAN,
} from 'ibantools';
import type { MessageKey } from '../../shared/i18n/messages.js';
import type { MandateSequence, MandateStatus, SequenceType } from './relations-schema.js';

export type Check<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: MessageKey };

/** Upper case, no spaces or dots: `nl91 abna 0417.1643.00` → `NL91ABNA0417164300`. */
export function normaliseIban(input: string): string {
  return electronicFormatIBAN(input.replace(/[.\-_]/g, '')) ?? '';
}

/** A valid IBAN of a SEPA country, in electronic format, or the reason it is not. */
export function checkIban(input: string): Check<string> {
  const iban = normaliseIban(input);
  if (iban === '') return { ok: false, error: 'relations.mandate.ibanRequired' };
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$/.test(iban))
    return { ok: false, error: 'relations.mandate.ibanFormat' };
  const result = validateIBAN(iban);
  if (!result.valid) {
    const codes = result.errorCodes;
    if (codes.includes(ValidationErrorsIBAN.NoIBANCountry))
      return { ok: false, error: 'relations.mandate.ibanCountry' };
    if (
      codes.includes(ValidationErrorsIBAN.WrongBBANLength) ||
      codes.includes(ValidationErrorsIBAN.WrongBBANFormat)
    ) {
      return { ok: false, error: 'relations.mandate.ibanFormat' };
    }
    return { ok: false, error: 'relations.mandate.ibanChecksum' };
  }
  if (!isSEPACountry(iban.slice(0, 2))) return { ok: false, error: 'relations.mandate.ibanNotSepa' };
  return { ok: true, value: iban };
}

/**
 * Dutch banks whose BIC follows from the IBAN's bank code (the four letters after the check
 * digits). Used to fill in a missing BIC and to catch a BIC of another bank.
 */
const dutchBics: Readonly<Record<string, string>> = {
  ABNA: 'ABNANL2A',
  ASNB: 'ASNBNL21',
  BUNQ: 'BUNQNL2A',
  FVLB: 'FVLBNL22',
  HAND: 'HANDNL2A',
  INGB: 'INGBNL2A',
  KNAB: 'KNABNL2H',
  NWAB: 'NWABNL2G',
  RABO: 'RABONL2U',
  RBRB: 'RBRBNL21',
  SNSB: 'SNSBNL2A',
  TRIO: 'TRIONL2U',
};

/** The BIC a Dutch IBAN implies, when its bank is known. */
function bicForDutchIban(iban: string): string | undefined {
  const parts = extractIBAN(iban);
  if (!parts.valid || parts.countryCode !== 'NL' || parts.bankIdentifier === undefined) return undefined;
  return dutchBics[parts.bankIdentifier];
}

/**
 * An optional BIC: format checked (8 or 11 characters), and for a Dutch IBAN the bank code and
 * country must match the IBAN's. An empty BIC for a Dutch IBAN of a known bank is filled in.
 */
export function checkBic(input: string, iban: string | undefined): Check<string | null> {
  const bic = input.replace(/\s+/g, '').toUpperCase();
  if (bic === '') {
    const derived = iban === undefined ? undefined : bicForDutchIban(iban);
    return { ok: true, value: derived ?? null };
  }
  if (!/^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$/.test(bic) || !isValidBIC(bic)) {
    return { ok: false, error: 'relations.mandate.bicFormat' };
  }
  if (iban?.startsWith('NL')) {
    const parts = extractIBAN(iban);
    if (
      bic.slice(4, 6) !== 'NL' ||
      (parts.bankIdentifier !== undefined && bic.slice(0, 4) !== parts.bankIdentifier)
    ) {
      return { ok: false, error: 'relations.mandate.bicMismatch' };
    }
  }
  return { ok: true, value: bic };
}

/** `NL91ABNA0417164300` → `NL** **** **** **** 4300`: the country and the last four, nothing else. */
export function maskIban(iban: string): string {
  const compact = normaliseIban(iban);
  const country = compact.slice(0, 2);
  const last = compact.slice(-4);
  const hiddenGroups = Math.max(1, Math.ceil((compact.length - 8) / 4));
  return [`${country}**`, ...Array.from({ length: hiddenGroups }, () => '****'), last].join(' ');
}

/** IBAN in groups of four for people: `NL91 ABNA 0417 1643 00`. */
export function formatIban(iban: string): string {
  return normaliseIban(iban).replace(/(.{4})(?=.)/g, '$1 ');
}

function mod97(digits: string): number {
  let rest = 0;
  for (const ch of digits) rest = (rest * 10 + Number(ch)) % 97;
  return rest;
}

function lettersToDigits(s: string): string {
  return [...s].map((ch) => (/[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch)).join('');
}

/** The check digits of a creditor identifier: ISO 7064 MOD 97-10 over national id + country + 00. */
export function creditorIdCheckDigits(country: string, nationalId: string): string {
  const check = 98 - mod97(lettersToDigits(`${nationalId}${country}00`));
  return String(check).padStart(2, '0');
}

/**
 * A SEPA creditor identifier (CI): country, check digits, a 3-character business code (often ZZZ)
 * and the national id. Dutch CIs carry 12 digits (KvK number + 4): `NL98ZZZ999999999999` shape.
 */
export function checkCreditorId(input: string): Check<string> {
  const ci = input.replace(/\s+/g, '').toUpperCase();
  const match = /^([A-Z]{2})([0-9]{2})([A-Z0-9]{3})([A-Z0-9]{1,28})$/.exec(ci);
  if (match === null) return { ok: false, error: 'relations.creditor.idFormat' };
  const [, country = '', digits = '', , nationalId = ''] = match;
  if (country === 'NL' && !/^[0-9]{12}$/.test(nationalId))
    return { ok: false, error: 'relations.creditor.idFormat' };
  if (!isSEPACountry(country)) return { ok: false, error: 'relations.creditor.idFormat' };
  if (creditorIdCheckDigits(country, nationalId) !== digits)
    return { ok: false, error: 'relations.creditor.idChecksum' };
  return { ok: true, value: ci };
}

/**
 * A mandate reference (MndtId): 1–35 characters of the SEPA set without spaces, not starting or
 * ending with "/" and without "//" (banks refuse those).
 */
export function checkMandateReference(input: string): Check<string> {
  const ref = input.trim();
  if (ref === '') return { ok: false, error: 'relations.mandate.referenceRequired' };
  if (
    !/^[A-Za-z0-9+?/:().,'-]{1,35}$/.test(ref) ||
    ref.startsWith('/') ||
    ref.endsWith('/') ||
    ref.includes('//')
  ) {
    return { ok: false, error: 'relations.mandate.referenceFormat' };
  }
  return { ok: true, value: ref };
}

/**
 * `12,50`, `12.50`, `€ 1.234,56`, `1,234.56`, `1.234.567`, `12` → cents; undefined when not a
 * positive euro amount or when the notation is ambiguous. Dutch writes a decimal comma and groups
 * thousands with dots, English the other way round; the same form is used in both languages, so
 * the separators decide, never the interface language: when both appear, the last one is the
 * decimal separator; one that appears more than once groups thousands; a single one followed by
 * exactly three digits (`12.345`, `12,345`) could be either and is refused (issue 16: "12.345"
 * became €12,345.00).
 */
export function parseEuroAmount(input: string): number | undefined {
  const s = input.replace(/[€\s]/g, '');
  if (!/^[0-9.,]+$/.test(s)) return undefined;
  const parts = splitAmount(s);
  if (parts === undefined) return undefined;
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(parts);
  if (match === null) return undefined;
  const cents = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  return cents > 0 && cents <= 99_999_999_999 ? cents : undefined;
}

/** The amount as `digits[.fraction]` with grouping removed, or undefined when ambiguous or malformed. */
function splitAmount(s: string): string | undefined {
  const lastDot = s.lastIndexOf('.');
  const lastComma = s.lastIndexOf(',');
  let decimal: string | undefined;
  let group: string | undefined;
  if (lastDot >= 0 && lastComma >= 0) {
    decimal = lastDot > lastComma ? '.' : ',';
    group = decimal === '.' ? ',' : '.';
  } else if (lastDot >= 0 || lastComma >= 0) {
    const sep = lastDot >= 0 ? '.' : ',';
    const count = s.split(sep).length - 1;
    if (count > 1) group = sep;
    else if (s.length - s.indexOf(sep) - 1 === 3) return undefined;
    else decimal = sep;
  }
  const [whole = '', fraction, ...rest] = decimal === undefined ? [s] : s.split(decimal);
  if (rest.length > 0) return undefined;
  if (group !== undefined) {
    if (!new RegExp(`^\\d{1,3}(\\${group}\\d{3})+$`).test(whole)) return undefined;
  }
  const digits = group === undefined ? whole : whole.split(group).join('');
  return fraction === undefined ? digits : `${digits}.${fraction}`;
}

/** Cents as a pain.008 amount: `1250` → `12.50`. */
export function centsToDecimal(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/**
 * Text in the SEPA character set (a-z A-Z 0-9 / - ? : ( ) . , ' + space): diacritics dropped
 * ("Zoë" → "Zoe"), "&" → "+", anything else → space; trimmed to `max`.
 */
export function sepaText(input: string, max: number): string {
  const text = input
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ß/g, 'ss')
    .replace(/&/g, '+')
    .replace(/[^A-Za-z0-9/?:().,'+\- ]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.slice(0, max).trim();
}

/** The sequence type of the next collection on a mandate, or undefined when it may not be collected. */
export function nextSequenceType(m: {
  readonly sequence: MandateSequence;
  readonly status: MandateStatus;
  readonly firstCollectionAt: string | null;
}): SequenceType | undefined {
  if (m.status !== 'active') return undefined;
  if (m.sequence === 'one_off') return m.firstCollectionAt === null ? 'OOFF' : undefined;
  return m.firstCollectionAt === null ? 'FRST' : 'RCUR';
}
