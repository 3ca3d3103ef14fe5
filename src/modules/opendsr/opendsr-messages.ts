/** The privacy officer's dashboard panel about callbacks to the controller's systems. */
export const opendsrNl = {
  'opendsr.panel.title': 'OpenDSR-meldingen',
  'opendsr.panel.failed':
    '{count, plural, one {# statusmelding aan uw eigen systeem kwam niet aan} other {# statusmeldingen aan uw eigen systeem kwamen niet aan}} (ook niet na herhaald proberen). Controleer het adres en of het bij Register is aangemeld; vraag de status zo nodig op met GET.',
  'opendsr.panel.request': 'Verzoek {id}: {status}, {error}',
} as const;

export const opendsrEn: Record<keyof typeof opendsrNl, string> = {
  'opendsr.panel.title': 'OpenDSR callbacks',
  'opendsr.panel.failed':
    '{count, plural, one {# status callback to your own system did not arrive} other {# status callbacks to your own system did not arrive}} (not after retries either). Check the address and that it is registered under Register; ask for the status with GET if needed.',
  'opendsr.panel.request': 'Request {id}: {status}, {error}',
};
