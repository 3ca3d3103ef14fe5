/** The modules of the app, in setup order. Each owns its routes; see module.ts. */
import { homeModule } from './home/home-routes.js';
import type { KluisModule } from './module.js';

export type { KluisModule } from './module.js';

export const modules: readonly KluisModule[] = [homeModule];
