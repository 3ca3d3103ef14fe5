/**
 * The change stamp of a PostgreSQL database shared by several nodes (decision 0020): a dedicated
 * connection LISTENs on `kluis_changes_<schema>`, where statement triggers on the tables the
 * session cache reads (sessions, users, user_roles, operator_grants, orgs; migration
 * 0114_auth_change_notify) NOTIFY on every committed change, whichever node or tool made it.
 *
 * The stamp is `<connection generation>:<notifications heard>`: it moves with every
 * notification, and is undefined — so nothing is cached, every request reads the database — while
 * the listening connection is down or not yet listening. A reconnect starts a new generation, so
 * whatever was cached before the outage (when changes may have gone unheard) is never used again.
 *
 * How exact: a change is seen by a node once PostgreSQL has delivered the notification to it,
 * which it does at the writer's commit to every listening connection that is idle (ours always
 * is). `sync()` is a round trip on the listening connection: every notification committed before
 * it started has been counted when it resolves (the barrier the tests use, and what a node can use
 * before answering when it must see another node's write).
 */
import pg from 'pg';
import type { ChangeStamp } from './database.js';

export interface ChangeFeed {
  readonly stamp: ChangeStamp;
  /** Resolves once every notification committed before the call has been counted (no-op while down). */
  sync(): Promise<void>;
  /** Whether the listening connection is up and listening. */
  listening(): boolean;
  stats(): { readonly notifications: number; readonly reconnects: number };
  close(): Promise<void>;
}

export function changeChannelOf(schema: string): string {
  return `kluis_changes_${schema}`.slice(0, 63);
}

export interface ChangeFeedOptions {
  readonly url: string;
  /** The schema whose tables notify (the main database's current schema). */
  readonly schema: string;
  /** Wait before reconnecting after the connection is lost (ms, default 1000). */
  readonly reconnectMs?: number;
  readonly onError?: (error: Error) => void;
}

export async function listenForChanges(options: ChangeFeedOptions): Promise<ChangeFeed> {
  const channel = changeChannelOf(options.schema);
  const reconnectMs = options.reconnectMs ?? 1000;
  let client: pg.Client | undefined;
  let up = false;
  let closed = false;
  let generation = 0;
  let heard = 0;
  let reconnects = 0;
  let timer: NodeJS.Timeout | undefined;

  function down(which: pg.Client, error?: Error): void {
    if (client !== which) return;
    up = false;
    client = undefined;
    which.removeAllListeners('notification');
    which.end().catch(() => undefined);
    if (error !== undefined) options.onError?.(error);
    if (!closed && timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        reconnects++;
        void connect();
      }, reconnectMs);
      timer.unref();
    }
  }

  async function connect(): Promise<void> {
    const next = new pg.Client({
      connectionString: options.url,
      application_name: `kluis-listen:${options.schema}`.slice(0, 63),
    });
    client = next;
    next.on('notification', (msg) => {
      if (msg.channel === channel) heard++;
    });
    next.on('error', (error) => down(next, error));
    next.on('end', () => down(next));
    try {
      await next.connect();
      await next.query(`LISTEN "${channel}"`);
      if (client !== next || closed) return;
      generation++;
      up = true;
    } catch (error) {
      down(next, error instanceof Error ? error : new Error(String(error)));
    }
  }

  await connect();
  return {
    stamp: () => (up ? `${generation}:${heard}` : undefined),
    async sync() {
      const c = client;
      if (c !== undefined && up) await c.query('SELECT 1');
    },
    listening: () => up,
    stats: () => ({ notifications: heard, reconnects }),
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      const c = client;
      up = false;
      client = undefined;
      if (c !== undefined) {
        c.removeAllListeners();
        c.on('error', () => undefined);
        await c.end().catch(() => undefined);
      }
    },
  };
}
