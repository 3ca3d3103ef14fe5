/**
 * The `results_url` of OpenDSR 2.0 (sections 8.3 and 8.6): the status and the callback of a
 * completed access or portability request point the controller at its export.
 */
import type { Org } from '../orgs/index.js';
import type { RightsService } from '../rights/index.js';
import type { RequestRow } from './opendsr-repository.js';
import type { OpendsrStatus } from './opendsr-schema.js';

/**
 * Section 8.3/8.6 `results_url`: where the controller fetches the access export of a completed
 * access or portability request (its own API key, scope `opendsr`; once, within 14 days). Only
 * once an export was made; undefined otherwise (an erasure has no results to fetch).
 */
export async function resultsUrlOf(
  deps: { readonly rights: Pick<RightsService, 'exportStateOf'>; readonly publicOrigin: string },
  org: Pick<Org, 'slug'>,
  row: RequestRow,
  status: OpendsrStatus = row.request_status,
): Promise<string | undefined> {
  if (status !== 'completed' || row.request_type === 'erasure') return undefined;
  const state = await deps.rights.exportStateOf({ orgId: row.org_id }, row.rights_request_id);
  if (state === 'none') return undefined;
  return `${deps.publicOrigin}/o/${org.slug}/opendsr/v1/requests/${row.subject_request_id}/results`;
}
