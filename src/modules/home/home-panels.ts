/**
 * Panels on the staff dashboard (`/staff`). Modules contribute panels through their manifests;
 * the app gathers them in module order (`app.dashboardPanels`). A panel is shown to actors
 * holding its permission and renders its own small section.
 */
import type { HtmlValue } from '../../shared/html/html.js';
import { can } from '../../shared/permissions.js';
import type { DashboardPanel, DashboardPanelContext } from '../module.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every module's dashboard panels, in module order (app.ts). */
    dashboardPanels: readonly DashboardPanel[];
  }
}

/** The panels `ctx.actor` may see, rendered in order. */
export async function renderDashboardPanels(
  panels: readonly DashboardPanel[],
  ctx: DashboardPanelContext,
): Promise<HtmlValue[]> {
  const out: HtmlValue[] = [];
  for (const panel of panels) {
    if (panel.permission === undefined || can(ctx.actor, panel.permission)) out.push(await panel.render(ctx));
  }
  return out;
}
