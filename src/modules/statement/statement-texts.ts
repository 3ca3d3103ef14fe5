/**
 * The statement's templates in Dutch and English (P13, P18), modelled on the seed statement of
 * Ambrix (`shared/seed/privacyverklaring.txt`) for tone and content. These are document
 * templates, not interface strings: each text is a function of typed values, and every value it
 * receives is already markdown-escaped by the generator. The English object is typed against the
 * Dutch one, so a text missing in one language fails the type check.
 */

export interface Names {
  /** The organisation's name (escaped). */
  readonly org: string;
}

export const statementTextsNl = {
  title: (v: Names) => `Privacyverklaring ${v.org}`,

  whoTitle: 'Wie wij zijn',
  whoResponsible: (v: Names) =>
    `${v.org} is verantwoordelijk voor de verwerking van persoonsgegevens zoals in deze verklaring beschreven. U bereikt ons zo:`,
  whoAddress: 'Adres',
  whoEmail: 'E-mail',
  whoPhone: 'Telefoon',
  whoWebsite: 'Website',
  whoPrivacy: 'Vragen en verzoeken over privacy',

  dataTitle: 'Welke gegevens wij verwerken',
  dataChannels: (v: Names & { channels: string }) =>
    `${v.org} verwerkt persoonsgegevens die worden verstrekt door iedereen die contact met ons opneemt via ${v.channels}. Dit zijn de soorten gegevens, en waarvoor wij ze gebruiken:`,
  dataItem: (v: { category: string; hint: string; purposes: string; subjects: string }) =>
    `**${v.category}** (${v.hint}), van ${v.subjects}: voor ${v.purposes}.`,
  dataNone: 'Wij verwerken geen persoonsgegevens.',

  purposesTitle: 'Waarvoor wij uw gegevens gebruiken',
  purposeData: (v: { categories: string; bases: string }) =>
    `Gegevens: ${v.categories}. Grondslag: ${v.bases}.`,
  purposesProportional: (v: Names) =>
    `${v.org} gebruikt uw gegevens alleen voor deze doelen. Deze verwerking is proportioneel: de gegevens zijn nodig voor contact, aansprakelijkheid en boekhouding en worden alleen daarvoor gebruikt. Er vindt geen verdere persoonsgebonden profilering plaats.`,

  retentionTitle: 'Hoe lang wij gegevens bewaren',
  retentionIntro:
    'Wij bewaren gegevens niet langer dan nodig, rekening houdend met wettelijke bewaartermijnen. Daarna worden ze verwijderd.',
  retentionItem: (v: { category: string; retention: string }) => `**${v.category}**: ${v.retention}.`,

  clientsTitle: (v: Names) => `Verwerking door klanten van ${v.org}`,

  securityTitle: 'Beveiliging',
  securityMeasuresIntro: 'Zo zijn de gegevens beschermd:',
  securityTls: 'alle verbindingen met onze systemen zijn versleuteld (TLS)',
  securityTlsExcept: (v: { connections: string }) =>
    `verbindingen met onze systemen zijn versleuteld (TLS), behalve ${v.connections}: die zijn niet versleuteld`,
  connection: {
    web: 'de verbinding van uw browser met onze website',
    database: 'de verbinding met onze database',
    smtpRelay: 'uitgaande e-mail naar onze mailserver',
    inboundSmtp: 'inkomende e-mail naar onze mailserver',
  },
  securityStorage: 'de opslag is versleuteld en afgeschermd door een authenticatielaag',
  securityAccess:
    'alleen geautoriseerde medewerkers hebben toegang, met een persoonlijk account, een sterk wachtwoord en tweestapsverificatie, en alleen tot de gegevens die hun rol nodig heeft',
  securityAccessNoTotp:
    'alleen geautoriseerde medewerkers hebben toegang, met een persoonlijk account en een sterk wachtwoord, en alleen tot de gegevens die hun rol nodig heeft; tweestapsverificatie is beschikbaar, maar niet voor elke medewerker verplicht',
  securityAudit: (v: { kinds: string }) =>
    `deze handelingen van medewerkers worden vastgelegd in een auditlog dat niet ongemerkt kan worden gewijzigd: ${v.kinds}`,
  auditedKind: {
    sign_in: 'aanmelden en mislukte aanmeldpogingen',
    personal_data_read: 'het inzien van vertrouwelijke persoonsgegevens, met het doel',
    personal_data_change: 'het wijzigen en wissen van persoonsgegevens',
    access_change: 'het toekennen en intrekken van rollen, toegang en sleutels',
    export: 'exports en back-ups',
    policy_change: 'wijzigingen van bewaartermijnen, het register en deze verklaring',
  },
  securityOverrides: (v: { items: string }) =>
    `bewust ingestelde uitzonderingen op onze beveiligingsregels: ${v.items}`,
  override: {
    'smtp-relay-without-tls': 'uitgaande e-mail gaat zonder TLS naar de mailserver',
    'postgres-without-tls': 'de verbinding met de database op een andere machine is niet versleuteld',
    'inbound-smtp-without-tls': 'inkomende e-mail wordt zonder STARTTLS ontvangen',
    'operator-without-totp': 'medewerkers van de beheerder mogen zich zonder tweestapsverificatie aanmelden',
  },
  securityActivity: (v: { purpose: string; measures: string }) => `${v.purpose}: ${v.measures}`,

  metadataTitle: 'Metadata en logging',
  metadataText: (v: Names & { truncateDays: number; deleteDays: number }) =>
    `De systemen van ${v.org} verwerken altijd bepaalde metadata, noodzakelijk voor technisch systeembeheer, verweer tegen cyberaanvallen, fraudebestrijding en het voldoen aan wettelijke verplichtingen. Bij elk verzoek aan onze systemen leggen wij het IP-adres en de user agent (het programma) vast waarvandaan toegang wordt gezocht. Deze logging is niet gericht op het profileren van personen en wordt nooit aan profielen gekoppeld. IP-adressen worden na ${v.truncateDays} dagen ingekort; na ${v.deleteDays} dagen worden de gegevens verwijderd. Alleen medewerkers met de beveiligingsrol kunnen ze inzien. Grondslag: ons gerechtvaardigd belang bij veilige systemen.`,

  subprocessorsTitle: 'Opslag en doorgifte aan derden',
  subprocessorsIntro: (v: Names) =>
    `In het kader van haar dienstverlening kan ${v.org} persoonsgegevens opslaan in systemen die beheerd worden door subverwerkers (IT-leveranciers). Deze subverwerkers verwerken de persoonsgegevens alleen voor de doelen van ${v.org}, zoals in deze verklaring beschreven. ${v.org} verstrekt persoonsgegevens verder niet aan derden, tenzij wij daartoe wettelijk verplicht zijn.`,
  subprocessorsAgreements: (v: Names) => `${v.org} heeft verwerkersovereenkomsten met deze subverwerkers.`,
  subprocessorsNoAgreement: (v: Names & { names: string }) =>
    `Met ${v.names} heeft ${v.org} nog geen verwerkersovereenkomst vastgelegd.`,
  subprocessorsNone: 'Op dit moment schakelen wij geen subverwerkers in.',
  subprocessorItem: (v: {
    name: string;
    service: string;
    location: string;
    eea: string;
    categories: string;
  }) => `**${v.name}**: ${v.service}; locatie ${v.location} (${v.eea}); gegevens: ${v.categories}.`,
  inEea: 'binnen de EER',
  outsideEea: 'buiten de EER',
  transfersText:
    'Waar een subverwerker buiten de Europese Economische Ruimte (EER) is gevestigd, geven wij gegevens alleen door met passende waarborgen.',
  transfersMissing: (v: { names: string }) =>
    `Voor ${v.names} (buiten de EER) is nog geen doorgiftemechanisme (adequaatheidsbesluit, modelcontractbepalingen of bindende bedrijfsvoorschriften) vastgelegd.`,
  safeguard: (v: { mechanism: string }) => `waarborg: ${v.mechanism}`,
  transferItem: (v: { purpose: string; transfers: string }) => `${v.purpose}: ${v.transfers}`,
  recipientsTitle: 'Andere ontvangers:',
  recipientItem: (v: { purpose: string; recipients: string }) => `${v.purpose}: ${v.recipients}`,
  egressTitle: 'Waar uw gegevens naartoe gaan:',
  egressRelay: (v: { name: string }) => `E-mail die wij u sturen, gaat via ${v.name} (subverwerker).`,
  egressWebhook: (v: Names) =>
    `Systemen van ${v.org} zelf (zoals een klantsysteem), alleen op vooraf geregistreerde adressen.`,
  egressSubject:
    'U zelf: een downloadlink naar uw gegevens krijgt u alleen nadat uw identiteit is gecontroleerd.',
  egressOnly:
    'Gegevens gaan nergens anders heen: het systeem weigert een verzending naar een ontvanger die hier niet staat.',
  subprocessorsLink: (v: { url: string; link: string }) => `Het actuele overzicht staat op ${v.link}.`,

  rightsTitle: 'Uw rechten',
  rightsText: (v: Names) =>
    `U kunt ${v.org} verzoeken de persoonsgegevens die wij van u verwerken in te zien, te ontvangen (ook in een machineleesbare vorm), te wijzigen of te laten verwijderen. Ook kunt u bezwaar maken tegen de (verdere) verwerking van uw gegevens. Als u toestemming hebt gegeven voor een verwerking, kunt u die op ieder moment weer intrekken.`,
  rightsHow: (v: { portal: string; privacy: string }) =>
    `U oefent uw rechten uit via ons privacyportaal op ${v.portal}${v.privacy === '' ? '' : ` of per e-mail aan ${v.privacy}`}. Wij reageren binnen een maand na ontvangst. Is een verzoek ingewikkeld, dan kunnen wij die termijn met twee maanden verlengen; dat laten wij u dan binnen de eerste maand weten, met de reden. Een verzoek is kosteloos.`,

  identificationTitle: 'Identificatie',
  identificationText: (v: Names) =>
    `Voor inhoudelijke vragen dient u zich adequaat te identificeren, zodat ${v.org} uw aanvraag volledig en correct in behandeling kan nemen en uw gegevens niet aan een ander verstrekt. Meestal volstaat het dat u laat zien dat u het e-mailadres beheert dat bij ons bekend is. Wij vragen nooit meer gegevens dan daarvoor nodig zijn.`,

  complaintTitle: 'Klachten',
  complaintText: (v: Names & { link: string }) =>
    `Bent u ontevreden over het handelen van ${v.org} inzake uw privacy, dan kunt u op grond van de privacywetgeving een klacht indienen bij de Autoriteit Persoonsgegevens (Postbus 93374, 2509 AJ Den Haag, ${v.link}).`,

  termsTitle: 'Algemene voorwaarden',
  termsText: (v: Names & { link: string }) =>
    `Op al onze diensten zijn de algemene voorwaarden van ${v.org} van toepassing. Deze zijn te vinden via ${v.link}.`,

  changesTitle: 'Wijzigingen privacyverklaring',
  changesText: (v: Names & { link: string; archive: string }) =>
    `${v.org} kan deze privacyverklaring aanpassen. U wordt aangeraden deze verklaring geregeld te raadplegen om op de hoogte te blijven van eventuele wijzigingen. De nieuwste versie is altijd te vinden op ${v.link}; eerdere versies en de verschillen daartussen staan in het ${v.archive}.`,
  archive: 'archief',

  // Defaults of the sections the privacy officer edits.
  defaultIntro: (v: Names & { operator: boolean }) =>
    [
      `Voor haar operationele dienstverlening verwerkt ${v.org} persoonsgegevens.`,
      v.operator
        ? `Daarnaast biedt ${v.org} ontwikkeling en/of hosting van *geautomatiseerde gegevensverwerking* als dienst aan bedrijven. Hierbij worden ook persoonsgegevens verwerkt.`
        : '',
      'Dit document informeert u over mogelijke verwerking van uw persoonsgegevens.',
    ]
      .filter((p) => p !== '')
      .join('\n\n'),
  defaultClients: (v: Names) =>
    [
      `${v.org} levert aan haar klanten (hosted) oplossingen, ondersteund door automatische processen. Klanten verwerken met deze oplossingen zelfstandig data, zonder verdere tussenkomst of inhoudelijke bemoeienis van ${v.org}. Onze klanten zijn *zelf verantwoordelijk* voor de gegevens die zij met de door ons aangeboden programmatuur verwerken.`,
      `Alleen wanneer een klant ${v.org} zelf expliciet opdracht geeft om (tijdelijk) een gegevensinhoudelijke rol te spelen, neemt ${v.org} een verwerkersrol aan. Indien dit voorkomt, behandelt ${v.org} de gegevens vertrouwelijk, en naar gelang de geldende verwerkersovereenkomst met de klant.`,
      `Tenzij hiertoe op rechtsgrond gedwongen, zal ${v.org} gegevens die voor een klant verwerkt worden nooit zelf verwerken buiten de invloedssfeer van de klant, noch afstaan aan een derde partij.`,
      `${v.org} doet verder geen mededelingen over de manier waarop haar klanten (persoons)gegevens verwerken. Hiervoor verwijzen wij u naar de privacyverklaring van de betreffende klant.`,
    ].join('\n\n'),
  defaultSecurity: (v: Names) =>
    `${v.org} draagt zorg dat door haar gebruikte, ontwikkelde en aangeboden systemen niet onbevoegd toegankelijk zijn. Dit zowel technisch als organisatorisch; de maatregelen die nu gelden staan hieronder. Dit is in lijn met "privacy by design".`,
};

export type StatementTexts = typeof statementTextsNl;

export const statementTextsEn: StatementTexts = {
  title: (v) => `Privacy statement ${v.org}`,

  whoTitle: 'Who we are',
  whoResponsible: (v) =>
    `${v.org} is responsible for the processing of personal data as described in this statement. You can reach us as follows:`,
  whoAddress: 'Address',
  whoEmail: 'Email',
  whoPhone: 'Telephone',
  whoWebsite: 'Website',
  whoPrivacy: 'Privacy questions and requests',

  dataTitle: 'Which data we process',
  dataChannels: (v) =>
    `${v.org} processes personal data provided by anyone who contacts us through ${v.channels}. These are the kinds of data, and what we use them for:`,
  dataItem: (v) => `**${v.category}** (${v.hint}), of ${v.subjects}: for ${v.purposes}.`,
  dataNone: 'We do not process personal data.',

  purposesTitle: 'What we use your data for',
  purposeData: (v) => `Data: ${v.categories}. Legal basis: ${v.bases}.`,
  purposesProportional: (v) =>
    `${v.org} uses your data only for these purposes. This processing is proportionate: the data is needed for contact, liability and bookkeeping and is used only for that. There is no further profiling of persons.`,

  retentionTitle: 'How long we keep data',
  retentionIntro:
    'We keep data no longer than necessary, taking legal retention periods into account. After that it is deleted.',
  retentionItem: (v) => `**${v.category}**: ${v.retention}.`,

  clientsTitle: (v) => `Processing by clients of ${v.org}`,

  securityTitle: 'Security',
  securityMeasuresIntro: 'This is how the data is protected:',
  securityTls: 'every connection to our systems is encrypted (TLS)',
  securityTlsExcept: (v) =>
    `connections to our systems are encrypted (TLS), except ${v.connections}: these are not encrypted`,
  connection: {
    web: 'the connection from your browser to our website',
    database: 'the connection to our database',
    smtpRelay: 'outgoing mail to our mail server',
    inboundSmtp: 'incoming mail to our mail server',
  },
  securityStorage: 'storage is encrypted and shielded by an authentication layer',
  securityAccess:
    'only authorised staff have access, with a personal account, a strong password and two-step verification, and only to the data their role needs',
  securityAccessNoTotp:
    'only authorised staff have access, with a personal account and a strong password, and only to the data their role needs; two-step verification is available but not required of every staff member',
  securityAudit: (v) =>
    `these staff actions are recorded in an audit trail that cannot be changed unnoticed: ${v.kinds}`,
  auditedKind: {
    sign_in: 'signing in and failed sign-in attempts',
    personal_data_read: 'opening confidential personal data, with the purpose',
    personal_data_change: 'changing and erasing personal data',
    access_change: 'granting and revoking roles, access and keys',
    export: 'exports and backups',
    policy_change: 'changes to retention periods, the register and this statement',
  },
  securityOverrides: (v) => `exceptions to our security rules, set deliberately: ${v.items}`,
  override: {
    'smtp-relay-without-tls': 'outgoing mail goes to the mail server without TLS',
    'postgres-without-tls': 'the connection to the database on another machine is not encrypted',
    'inbound-smtp-without-tls': 'incoming mail is received without STARTTLS',
    'operator-without-totp': "the operator's staff may sign in without two-step verification",
  },
  securityActivity: (v) => `${v.purpose}: ${v.measures}`,

  metadataTitle: 'Metadata and logging',
  metadataText: (v) =>
    `The systems of ${v.org} always process certain metadata, needed for technical system management, defence against cyber attacks, fraud prevention and compliance with legal obligations. For every request to our systems we record the IP address and the user agent (the program) from which access is sought. This logging is not aimed at profiling people and is never linked to profiles. IP addresses are shortened after ${v.truncateDays} days; after ${v.deleteDays} days the data is deleted. Only staff with the security role can see it. Legal basis: our legitimate interest in secure systems.`,

  subprocessorsTitle: 'Storage and disclosure to third parties',
  subprocessorsIntro: (v) =>
    `As part of its services, ${v.org} may store personal data in systems managed by sub-processors (IT suppliers). These sub-processors process the personal data only for the purposes of ${v.org}, as described in this statement. ${v.org} does not disclose personal data to other third parties, unless we are legally obliged to.`,
  subprocessorsAgreements: (v) => `${v.org} has processor agreements with these sub-processors.`,
  subprocessorsNoAgreement: (v) => `${v.org} has no processor agreement on file yet with ${v.names}.`,
  subprocessorsNone: 'We currently use no sub-processors.',
  subprocessorItem: (v) =>
    `**${v.name}**: ${v.service}; location ${v.location} (${v.eea}); data: ${v.categories}.`,
  inEea: 'inside the EEA',
  outsideEea: 'outside the EEA',
  transfersText:
    'Where a sub-processor is established outside the European Economic Area (EEA), we transfer data only with appropriate safeguards.',
  transfersMissing: (v) =>
    `For ${v.names} (outside the EEA) no transfer mechanism (adequacy decision, standard contractual clauses or binding corporate rules) is on file yet.`,
  safeguard: (v) => `safeguard: ${v.mechanism}`,
  transferItem: (v) => `${v.purpose}: ${v.transfers}`,
  recipientsTitle: 'Other recipients:',
  recipientItem: (v) => `${v.purpose}: ${v.recipients}`,
  egressTitle: 'Where your data goes:',
  egressRelay: (v) => `Email we send you goes through ${v.name} (sub-processor).`,
  egressWebhook: (v) =>
    `Systems of ${v.org} itself (such as a customer system), only at addresses registered beforehand.`,
  egressSubject: 'You: you receive a download link to your data only after your identity has been checked.',
  egressOnly: 'Data goes nowhere else: the system refuses a send to a recipient not listed here.',
  subprocessorsLink: (v) => `The current overview is at ${v.link}.`,

  rightsTitle: 'Your rights',
  rightsText: (v) =>
    `You may ask ${v.org} to access, receive (also in a machine-readable form), rectify or erase the personal data we process about you. You may also object to the (further) processing of your data. If you gave consent for a processing, you may withdraw it at any time.`,
  rightsHow: (v) =>
    `You exercise your rights through our privacy portal at ${v.portal}${v.privacy === '' ? '' : ` or by email to ${v.privacy}`}. We respond within one month of receipt. If a request is complex, we may extend that period by two months; we then tell you so within the first month, with the reason. A request is free of charge.`,

  identificationTitle: 'Identification',
  identificationText: (v) =>
    `For requests about content you need to identify yourself adequately, so that ${v.org} can handle your request completely and correctly and does not disclose your data to someone else. Usually it is enough to show that you control the email address we know. We never ask for more data than that requires.`,

  complaintTitle: 'Complaints',
  complaintText: (v) =>
    `If you are not satisfied with how ${v.org} handles your privacy, you may lodge a complaint with the Dutch Data Protection Authority, the Autoriteit Persoonsgegevens (Postbus 93374, 2509 AJ Den Haag, the Netherlands, ${v.link}).`,

  termsTitle: 'General terms',
  termsText: (v) =>
    `The general terms of ${v.org} apply to all our services. They can be found at ${v.link}.`,

  changesTitle: 'Changes to this privacy statement',
  changesText: (v) =>
    `${v.org} may change this privacy statement. We advise you to consult it regularly to stay informed of any changes. The newest version can always be found at ${v.link}; earlier versions and the differences between them are in the ${v.archive}.`,
  archive: 'archive',

  defaultIntro: (v) =>
    [
      `${v.org} processes personal data for its operational services.`,
      v.operator
        ? `In addition, ${v.org} offers the development and/or hosting of *automated data processing* as a service to businesses. This also involves processing personal data.`
        : '',
      'This document informs you about the possible processing of your personal data.',
    ]
      .filter((p) => p !== '')
      .join('\n\n'),
  defaultClients: (v) =>
    [
      `${v.org} provides its clients with (hosted) solutions, supported by automated processes. Clients process data with these solutions on their own, without further involvement of ${v.org} in the content. Our clients are *themselves responsible* for the data they process with the software we provide.`,
      `Only when a client explicitly instructs ${v.org} to take (temporarily) a role in the content of the data does ${v.org} act as a processor. If that happens, ${v.org} treats the data confidentially and according to the processor agreement in force with the client.`,
      `Unless legally compelled, ${v.org} will never process data it processes for a client outside the client's sphere of influence, nor hand it to a third party.`,
      `${v.org} makes no further statements about how its clients process (personal) data. For that, please see the privacy statement of the client concerned.`,
    ].join('\n\n'),
  defaultSecurity: (v) =>
    `${v.org} ensures that the systems it uses, develops and offers cannot be accessed without authorisation. This is done technically and organisationally; the measures in force are listed below. This is in line with "privacy by design".`,
};
