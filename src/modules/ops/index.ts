/**
 * Operations (no tables of its own): `kluis init`, `keys rotate`, `backup create|verify|restore`
 * with signed manifests and the erasure ledger's replay after a restore.
 */
import { defineModule } from '../module.js';
import { registerOpsCommands } from './ops-commands.js';

export type { PostRestoreStep } from './ops-restore.js';

export const opsModule = defineModule({
  name: 'ops',
  cli: registerOpsCommands,
});
