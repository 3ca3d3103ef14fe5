/** Texts of erasure on request (P15): what staff see when an erasure cannot go ahead. */
export const rightsErasureNl = {
  'rights.erasure.held':
    'Deze persoon valt onder een bewaarplicht wegens een juridische blokkade (legal hold). Hef de blokkade op bij Bewaartermijnen of leg in het antwoord uit waarom niet gewist wordt.',
} as const;

export const rightsErasureEn: Record<keyof typeof rightsErasureNl, string> = {
  'rights.erasure.held':
    'A legal hold covers this person. Release the hold under Retention, or explain in the reply why nothing is erased.',
};
