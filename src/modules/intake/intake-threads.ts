/**
 * Message-IDs for threading. Kluis names its outbound replies `<kluis.<entry id>@host>`: random,
 * unguessable ids that name no organisation. Which organisation an inbound mail belongs to is
 * decided by its recipient address alone (intake-smtp.ts); its In-Reply-To and References are
 * looked up only among that organisation's own conversations, so a forged header naming another
 * organisation's message opens nothing there.
 */

export function outboundMessageId(entryId: string, publicOrigin: string): string {
  const host = new URL(publicOrigin).hostname || 'kluis.invalid';
  return `<kluis.${entryId}@${host}>`;
}

/** `<a@b>` ids from an In-Reply-To / References value (string, list or nothing), in order, unique. */
export function messageIdsOf(...values: (string | readonly string[] | undefined)[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    const parts = value === undefined ? [] : typeof value === 'string' ? [value] : value;
    for (const part of parts) {
      for (const match of part.matchAll(/<[^<>\s]{1,900}>/g)) {
        if (!out.includes(match[0])) out.push(match[0]);
      }
    }
  }
  return out.slice(0, 100);
}

/**
 * The References of a reply: the thread's root and the most recent ids (RFC 5322 §3.6.4 allows
 * trimming the middle of a long list).
 */
export function referencesFor(ids: readonly string[], max = 20): string[] {
  if (ids.length <= max) return [...ids];
  const [root] = ids;
  return root === undefined ? [] : [root, ...ids.slice(ids.length - (max - 1))];
}
