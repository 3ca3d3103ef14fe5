/**
 * Canonical JSON: object keys sorted at every level, members whose value is undefined left out
 * (as JSON.stringify does), arrays in their order, no whitespace. Two writers that build the same
 * value in a different key order get the same bytes, which is what a hash or a signature over
 * JSON needs (audit entries' meta, backup manifests, the erasure ledger).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    // A list of ids: the same text in one call instead of one per element.
    if (value.every((v) => typeof v === 'string')) return JSON.stringify(value);
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
