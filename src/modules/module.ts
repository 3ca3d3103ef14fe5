import type { FastifyInstance } from 'fastify';
import type { Kluis } from '../kluis.js';

/**
 * A domain module as the app sees it. `setup` runs at the root (hooks that apply to every
 * request, e.g. resolving the actor); `routes` registers the module's routes in its own scope.
 */
export interface KluisModule {
  readonly name: string;
  readonly prefix?: string;
  setup?(app: FastifyInstance, kluis: Kluis): void | Promise<void>;
  routes?(app: FastifyInstance, kluis: Kluis): Promise<void>;
}
