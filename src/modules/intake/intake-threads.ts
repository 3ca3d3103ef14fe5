/**
 * Message-IDs for threading. Kluis names its outbound replies `<kluis.<org id>.<entry id>@host>`:
 * random, unguessable ids that also say which organisation a reply to them belongs to, so a
 * tenant's visitor answering by mail lands in the tenant's conversation, not the operator's.
 */

const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ours = new RegExp(`^<kluis\\.(${uuid})\\.(${uuid})@[^>]+>$`, 'i');

export function outboundMessageId(orgId: string, entryId: string, publicOrigin: string): string {
  const host = new URL(publicOrigin).hostname || 'kluis.invalid';
  return `<kluis.${orgId}.${entryId}@${host}>`;
}

/** The organisation named by one of Kluis's own Message-IDs, or undefined for any other id. */
export function orgOfMessageId(messageId: string): string | undefined {
  return ours.exec(messageId.trim())?.[1]?.toLowerCase();
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
