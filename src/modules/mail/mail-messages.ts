/** Outgoing mail texts and the development mail page. ICU MessageFormat: no straight apostrophes. */
export const mailNl = {
  'mail.greeting': 'Beste {name},',
  'mail.greetingAnonymous': 'Hallo,',
  'mail.footer': 'Dit bericht is automatisch verstuurd door Kluis. U kunt er niet op antwoorden.',
  'mail.footerReply':
    'U kunt op dit bericht antwoorden: uw antwoord komt bij ons binnen in hetzelfde gesprek.',
  'mail.notification.action': 'Bekijken',
  'mail.passwordReset.subject': 'Nieuw wachtwoord instellen',
  'mail.passwordReset.intro':
    'U hebt gevraagd om een nieuw wachtwoord voor uw Kluis-account. Via de link hieronder kiest u een nieuw wachtwoord.',
  'mail.passwordReset.action': 'Nieuw wachtwoord kiezen',
  'mail.passwordReset.expiry':
    'De link werkt {minutes, plural, one {# minuut} other {# minuten}} en kan één keer worden gebruikt.',
  'mail.passwordReset.ignore':
    'Hebt u dit niet gevraagd? Dan kunt u dit bericht negeren: uw wachtwoord blijft ongewijzigd.',
  'mail.invitation.subject': 'Uitnodiging voor Kluis: {org}',
  'mail.invitation.intro':
    'U bent uitgenodigd als eigenaar van {org} in Kluis. Via de link hieronder kiest u een wachtwoord; daarna stelt u tweestapsverificatie in.',
  'mail.invitation.action': 'Account instellen',
  'mail.invitation.expiry':
    'De link werkt {days, plural, one {# dag} other {# dagen}} en kan één keer worden gebruikt.',
  'mail.invitation.ignore': 'Verwachtte u deze uitnodiging niet? Dan kunt u dit bericht negeren.',
  'mail.dev.title': 'Ontvangen e-mail (ontwikkeling)',
  'mail.dev.intro':
    'Berichten die de lokale SMTP-ontvanger op {address} heeft ontvangen. Deze pagina bestaat alleen buiten productie; de berichten staan alleen in het geheugen.',
  'mail.dev.empty': 'Nog geen berichten ontvangen.',
  'mail.dev.from': 'Van',
  'mail.dev.to': 'Aan',
  'mail.dev.subject': 'Onderwerp',
  'mail.dev.received': 'Ontvangen',
  'mail.dev.messageId': 'Message-ID',
  'mail.dev.inReplyTo': 'Antwoord op',
  'mail.dev.text': 'Tekst',
  'mail.dev.noSubject': '(geen onderwerp)',
} as const;

export const mailEn: Record<keyof typeof mailNl, string> = {
  'mail.greeting': 'Dear {name},',
  'mail.greetingAnonymous': 'Hello,',
  'mail.footer': 'This message was sent automatically by Kluis. Replies are not read.',
  'mail.footerReply': 'You can reply to this message: your answer reaches us in the same conversation.',
  'mail.notification.action': 'View',
  'mail.passwordReset.subject': 'Set a new password',
  'mail.passwordReset.intro':
    'You asked for a new password for your Kluis account. Use the link below to choose a new password.',
  'mail.passwordReset.action': 'Choose a new password',
  'mail.passwordReset.expiry':
    'The link works for {minutes, plural, one {# minute} other {# minutes}} and can be used once.',
  'mail.passwordReset.ignore':
    'Did you not ask for this? Then ignore this message: your password stays the same.',
  'mail.invitation.subject': 'Invitation to Kluis: {org}',
  'mail.invitation.intro':
    'You are invited as the owner of {org} in Kluis. Use the link below to choose a password; then you set up two-step verification.',
  'mail.invitation.action': 'Set up your account',
  'mail.invitation.expiry':
    'The link works for {days, plural, one {# day} other {# days}} and can be used once.',
  'mail.invitation.ignore': 'Not expecting this invitation? Then you can ignore this message.',
  'mail.dev.title': 'Received mail (development)',
  'mail.dev.intro':
    'Messages received by the local SMTP sink on {address}. This page exists outside production only; the messages are kept in memory only.',
  'mail.dev.empty': 'No messages received yet.',
  'mail.dev.from': 'From',
  'mail.dev.to': 'To',
  'mail.dev.subject': 'Subject',
  'mail.dev.received': 'Received',
  'mail.dev.messageId': 'Message-ID',
  'mail.dev.inReplyTo': 'In reply to',
  'mail.dev.text': 'Text',
  'mail.dev.noSubject': '(no subject)',
};
