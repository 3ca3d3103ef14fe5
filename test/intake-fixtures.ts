/**
 * Helpers for the intake tests: fill in the public contact form through `Browser`, count what
 * was stored, and look for a marker anywhere in the database (rows as read through the driver,
 * and on SQLite the file bytes themselves).
 */
import { existsSync, readFileSync } from 'node:fs';
import { sql } from 'kysely';
import type { Browser } from './browser.js';
import type { TestKluis } from './dialects.js';

export interface IntakeCounts {
  conversations: number;
  entries: number;
  subjects: number;
  attachments: number;
  quarantine: number;
}

export async function intakeCounts(kluis: TestKluis): Promise<IntakeCounts> {
  const count = async (table: string) => {
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
      kluis.db,
    );
    return Number(r.rows[0]?.n ?? 0);
  };
  return {
    conversations: await count('conversations'),
    entries: await count('conversation_entries'),
    subjects: await count('data_subjects'),
    attachments: await count('conversation_attachments'),
    quarantine: await count('inbound_quarantine'),
  };
}

/** The signed start time in a contact form page. */
export function startedTokenOf(body: string): string {
  const match = /name="started" value="([^"]+)"/.exec(body);
  if (match?.[1] === undefined) throw new Error('no started field on the page');
  return match[1];
}

/** Names of every form control inside the first `<form method="post">` of a page. */
export function formControlNames(body: string): { all: string[]; visible: string[] } {
  const form = /<form method="post"[\s\S]*?<\/form>/.exec(body)?.[0] ?? '';
  const all: string[] = [];
  const visible: string[] = [];
  for (const m of form.matchAll(/<(input|textarea|select)\b([^>]*)>/g)) {
    const attrs = m[2] ?? '';
    const name = /\bname="([^"]+)"/.exec(attrs)?.[1];
    if (name === undefined) continue;
    all.push(name);
    const hidden = /\btype="hidden"/.test(attrs) || /\btabindex="-1"/.test(attrs);
    if (!hidden) visible.push(name);
  }
  return { all, visible };
}

/** Opens the form at `path` and returns the `started` token. */
export async function openContactForm(b: Browser, path: string): Promise<string> {
  const res = await b.get(path);
  if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode}`);
  return startedTokenOf(res.body);
}

/**
 * Where `marker` appears in the database: in any row as the driver returns it (sealed columns as
 * bytes, so field encryption is what is tested, not SQLCipher), and on SQLite in the raw files
 * after a WAL checkpoint.
 */
export async function findPlaintext(kluis: TestKluis, marker: string): Promise<string[]> {
  const hits: string[] = [];
  const tables = await kluis.db.introspection.getTables();
  for (const t of tables) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(t.name)}`.execute(kluis.db);
    for (const row of rows.rows) {
      for (const [column, value] of Object.entries(row)) {
        const text = Buffer.isBuffer(value)
          ? value.toString('latin1')
          : value instanceof Uint8Array
            ? Buffer.from(value).toString('latin1')
            : String(value);
        if (text.includes(marker)) hits.push(`${t.name}.${column}`);
      }
    }
  }
  await kluis.checkpoint();
  for (const file of [kluis.dbFile, kluis.dbFile ? `${kluis.dbFile}-wal` : undefined]) {
    if (file !== undefined && existsSync(file) && readFileSync(file).includes(Buffer.from(marker))) {
      hits.push(`file:${file}`);
    }
  }
  return hits;
}
