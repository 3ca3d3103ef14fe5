/** Phone numbers as Kluis stores and indexes them: E.164, so one number written two ways is one. */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** The phone number in E.164, or undefined when it is not a valid number (NL when no country code). */
export function normalisePhone(input: string): string | undefined {
  const parsed = parsePhoneNumberFromString(input, 'NL');
  return parsed?.isValid() ? parsed.number : undefined;
}
