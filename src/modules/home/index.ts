/** The public front page, the staff dashboard and the liveness probe. */
import { defineModule } from '../module.js';
import { homeRoutes } from './home-routes.js';

export const homeModule = defineModule({
  name: 'home',
  needs: ['orgs', 'jobs'],
  routes: homeRoutes,
});
