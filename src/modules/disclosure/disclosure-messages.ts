/** Messages of legally compelled disclosure (Dutch is the source). */
export const disclosureNl = {
  'disclosure.mail.subject': 'Gegevens van {org} verstrekt op bevel van een autoriteit',
  'disclosure.mail.body':
    'Wij hebben een bevel ontvangen om gegevens uit uw omgeving te verstrekken. Autoriteit: {authority}. Grondslag: {basis}. Kenmerk: {reference}. Het gaat om {subjects, plural, one {# betrokkene} other {# betrokkenen}}; de termijn was {deadline}. Elke stap staat in uw audittrail.',
} as const;

export const disclosureEn: Record<keyof typeof disclosureNl, string> = {
  'disclosure.mail.subject': 'Data of {org} disclosed under an order of an authority',
  'disclosure.mail.body':
    'We received an order to disclose data from your environment. Authority: {authority}. Legal basis: {basis}. Reference: {reference}. It concerns {subjects, plural, one {# data subject} other {# data subjects}}; the deadline was {deadline}. Every step is in your audit trail.',
};
