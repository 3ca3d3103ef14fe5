/**
 * The expanded size of a zip container (ASVS 5.2.3). Office documents (docx, xlsx, odt, ods)
 * are zip files; a few kilobytes can inflate to gigabytes in whatever program staff open them
 * with. Each entry is really inflated here, with zlib's output cap, so sizes the archive claims
 * (which an attacker writes) are never trusted. An archive that inflates beyond the limits, uses
 * ZIP64, an unknown compression method or overlapping entries is refused.
 */
import { inflateRawSync } from 'node:zlib';

/** Together, all entries of one attachment may expand to this much. */
export const MAX_EXPANDED_BYTES = 50 * 1024 * 1024;
/** More entries than any office document has; many tiny entries are a bomb of another kind. */
export const MAX_ZIP_ENTRIES = 2_000;

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export type ZipVerdict =
  | { readonly ok: true; readonly entries: number; readonly expandedBytes: number }
  | { readonly ok: false; readonly reason: 'malformed' | 'too_many_entries' | 'expands_too_far' };

function endOfCentralDirectory(zip: Buffer): number {
  // The record is 22 bytes plus a comment of at most 65 535 bytes, at the very end.
  const from = Math.max(0, zip.length - 22 - 0xffff);
  for (let at = zip.length - 22; at >= from; at--) if (zip.readUInt32LE(at) === EOCD) return at;
  return -1;
}

interface Entry {
  readonly method: number;
  readonly compressed: number;
  readonly localHeader: number;
}

function centralEntries(zip: Buffer): Entry[] | ZipVerdict {
  const eocd = endOfCentralDirectory(zip);
  if (eocd < 0) return { ok: false, reason: 'malformed' };
  const count = zip.readUInt16LE(eocd + 10);
  const offset = zip.readUInt32LE(eocd + 16);
  // 0xFFFF / 0xFFFFFFFF mean ZIP64: no office document needs it, a bomb may.
  if (count === 0xffff || offset === 0xffffffff) return { ok: false, reason: 'malformed' };
  if (count > MAX_ZIP_ENTRIES) return { ok: false, reason: 'too_many_entries' };
  const entries: Entry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== CENTRAL) return { ok: false, reason: 'malformed' };
    const compressed = zip.readUInt32LE(at + 20);
    const localHeader = zip.readUInt32LE(at + 42);
    if (compressed === 0xffffffff || localHeader === 0xffffffff) return { ok: false, reason: 'malformed' };
    entries.push({ method: zip.readUInt16LE(at + 10), compressed, localHeader });
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

/** The data of one entry, from its local header (whose own size fields may be zero). */
function entryData(zip: Buffer, entry: Entry): Buffer | undefined {
  const at = entry.localHeader;
  if (at + 30 > zip.length || zip.readUInt32LE(at) !== LOCAL) return undefined;
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const end = start + entry.compressed;
  return end > zip.length ? undefined : zip.subarray(start, end);
}

/** Inflates every entry of `zip` within the limits; says why not when it cannot. */
export function inspectZip(zip: Buffer): ZipVerdict {
  const entries = centralEntries(zip);
  if (!Array.isArray(entries)) return entries;
  // Entries sharing their data (a classic overlapping bomb) would each be counted as new output.
  if (new Set(entries.map((e) => e.localHeader)).size !== entries.length)
    return { ok: false, reason: 'malformed' };
  let expanded = 0;
  for (const entry of entries) {
    const data = entryData(zip, entry);
    if (data === undefined) return { ok: false, reason: 'malformed' };
    const room = MAX_EXPANDED_BYTES - expanded;
    if (entry.method === 0) expanded += data.length;
    else if (entry.method === 8) {
      try {
        expanded += inflateRawSync(data, { maxOutputLength: Math.max(1, room) }).length;
      } catch (error) {
        const tooFar = (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
        return { ok: false, reason: tooFar ? 'expands_too_far' : 'malformed' };
      }
    } else return { ok: false, reason: 'malformed' };
    if (expanded > MAX_EXPANDED_BYTES) return { ok: false, reason: 'expands_too_far' };
  }
  return { ok: true, entries: entries.length, expandedBytes: expanded };
}
