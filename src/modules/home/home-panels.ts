/**
 * Panels on the staff dashboard (`/staff`). A module adds a panel by exporting a `DashboardPanel`
 * and listing it below (one import + one entry), as modules add their `staffNav` entries. A panel
 * is shown to actors holding one of its roles and renders its own small section.
 */
import type { Kluis } from '../../kluis.js';
import type { Actor, Role } from '../../shared/actor.js';
import type { HtmlValue } from '../../shared/html/html.js';
import type { Locale, Translate } from '../../shared/i18n/messages.js';
import { statementDashboardPanel } from '../statement/statement-panel.js';

export interface DashboardPanelContext {
  readonly kluis: Kluis;
  readonly actor: Actor;
  readonly t: Translate;
  readonly locale: Locale;
}

export interface DashboardPanel {
  readonly id: string;
  /** Shown only to actors holding one of these roles (everyone when omitted). */
  readonly roles?: readonly Role[];
  render(ctx: DashboardPanelContext): Promise<HtmlValue>;
}

export const dashboardPanels: readonly DashboardPanel[] = [statementDashboardPanel];

/** The panels `ctx.actor` may see, rendered in order. */
export async function renderDashboardPanels(ctx: DashboardPanelContext): Promise<HtmlValue[]> {
  const visible = dashboardPanels.filter(
    (p) => p.roles === undefined || p.roles.some((r) => ctx.actor.roles.includes(r)),
  );
  const out: HtmlValue[] = [];
  for (const panel of visible) out.push(await panel.render(ctx));
  return out;
}
