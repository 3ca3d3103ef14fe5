/** A Kysely plugin that counts INSERT statements into one table, and can make the next ones fail. */
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';

export class InsertCounter implements KyselyPlugin {
  inserts = 0;
  failNext = 0;
  constructor(private readonly table = 'access_log') {}
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const node = args.node;
    if (node.kind === 'InsertQueryNode' && node.into?.table.identifier.name === this.table) {
      if (this.failNext > 0) {
        this.failNext--;
        throw new Error('simulated database failure');
      }
      this.inserts++;
    }
    return node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
