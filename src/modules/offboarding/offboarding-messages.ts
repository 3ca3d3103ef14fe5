/** Messages of tenant offboarding (Dutch is the source). */
export const offboardingNl = {
  'offboarding.nav': 'Vertrek',
  'offboarding.title': 'Vertrek uit Kluis',
  'offboarding.intro':
    'Bij vertrek krijgt u al uw gegevens terug in één export (JSON en CSV per tabel, documenten, register en verklaringen). Na de opzegtermijn vernietigt Kluis uw sleutel en al uw gegevens, en krijgt u een ondertekende verklaring van vernietiging.',
  'offboarding.none': 'Er loopt geen vertrek.',
  'offboarding.rows': 'Wat vernietigd wordt',
  'offboarding.start': 'Vertrek starten',
  'offboarding.confirm': 'Ik begrijp dat al onze gegevens na de opzegtermijn worden vernietigd',
  'offboarding.started': 'Vertrek gestart',
  'offboarding.noticeEnds': 'Opzegtermijn eindigt',
  'offboarding.download': 'Export downloaden',
  'offboarding.downloaded': 'Gedownload op',
  'offboarding.finished': 'Vernietigd op',
  'offboarding.certificate': 'Verklaring van vernietiging downloaden',
  'offboarding.key': 'Controleer de verklaring met de publieke sleutel op /.well-known/kluis-audit-key.',
  'offboarding.tenants.title': 'Vertrek van klanten',
  'offboarding.tenants.agreementEnded': 'Overeenkomst beëindigd op',
  'offboarding.tenants.slug': 'Klant (slug)',
} as const;

export const offboardingEn: Record<keyof typeof offboardingNl, string> = {
  'offboarding.nav': 'Leaving',
  'offboarding.title': 'Leaving Kluis',
  'offboarding.intro':
    'When you leave you get all your data back in one export (JSON and CSV per table, documents, register and statements). After the notice period Kluis destroys your key and all your data, and you get a signed deletion certificate.',
  'offboarding.none': 'No offboarding is under way.',
  'offboarding.rows': 'What will be destroyed',
  'offboarding.start': 'Start offboarding',
  'offboarding.confirm': 'I understand that all our data is destroyed after the notice period',
  'offboarding.started': 'Offboarding started',
  'offboarding.noticeEnds': 'Notice period ends',
  'offboarding.download': 'Download the export',
  'offboarding.downloaded': 'Downloaded on',
  'offboarding.finished': 'Destroyed on',
  'offboarding.certificate': 'Download the deletion certificate',
  'offboarding.key': 'Check the certificate with the public key at /.well-known/kluis-audit-key.',
  'offboarding.tenants.title': 'Tenants leaving',
  'offboarding.tenants.agreementEnded': 'Agreement ended on',
  'offboarding.tenants.slug': 'Tenant (slug)',
};
