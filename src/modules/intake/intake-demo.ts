/**
 * Demo conversations for `npm start`: a few realistic requests across every channel (web form,
 * email with a reply and an answer threaded back, a phone call, the API, a possible rights
 * request at the privacy address) and a demo support user to read them — the demo admin does
 * not read messages (P5) unless a conversation is assigned to them, as one is here.
 */
import type { Kluis } from '../../kluis.js';
import type { Actor } from '../../shared/actor.js';
import { createUserFromCli } from '../auth/index.js';
import type { Org } from '../orgs/index.js';
import { createIntakeRepository } from './intake-repository.js';

const DEMO_SUPPORT_EMAIL = 'support@ambrix.example';

function rawMail(o: {
  from: string;
  to: string;
  subject: string;
  text: string;
  messageId: string;
  inReplyTo?: string;
  date: Date;
}): Buffer {
  const headers = [
    `From: ${o.from}`,
    `To: ${o.to}`,
    `Subject: ${o.subject}`,
    `Date: ${o.date.toUTCString()}`,
    `Message-ID: ${o.messageId}`,
    ...(o.inReplyTo === undefined ? [] : [`In-Reply-To: ${o.inReplyTo}`, `References: ${o.inReplyTo}`]),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${o.text.replace(/\n/g, '\r\n')}\r\n`, 'utf8');
}

/** Seeds the demo conversations once (when the operator has none). Returns banner lines. */
export async function seedIntakeDemo(kluis: Kluis, operator: Org, adminUserId: string): Promise<string[]> {
  const existing = await createIntakeRepository(kluis.db).countConversations({ orgId: operator.id }, {});
  if (existing > 0) return [];
  const support = await createUserFromCli(kluis, {
    org: operator.slug,
    email: DEMO_SUPPORT_EMAIL,
    name: 'Sanne Support',
    roles: ['support'],
    command: 'demo-seed',
  });
  const supportActor: Actor = {
    kind: 'user',
    orgId: operator.id,
    orgKind: operator.kind,
    userId: support.userId,
    roles: ['support'],
  };
  // The seed hands in an API request and assigns it as support would.
  const system: Actor = {
    kind: 'system',
    orgId: operator.id,
    orgKind: operator.kind,
    reason: 'demo-seed',
    roles: ['support'],
  };
  const intake = kluis.services.intake;
  const inbox = kluis.services.inbox;
  const mail = kluis.services.inboundMail;
  const contact = kluis.config.intake.contactAddress ?? 'contact@localhost';
  const privacy = kluis.config.intake.privacyAddress ?? 'privacy@localhost';
  const now = kluis.clock.now();

  await intake.submitContactRequest({
    actor: { kind: 'anonymous', orgId: operator.id, ref: 'demo-seed' },
    channel: 'web',
    locale: 'nl',
    request: {
      name: 'Marieke van Dijk',
      email: 'marieke.vandijk@example.nl',
      phone: undefined,
      message:
        'Goedemorgen,\n\nWij overwegen onze klantadministratie bij u te laten hosten. Kunt u mij iets vertellen over de mogelijkheden en wat dat ongeveer kost?\n\nMet vriendelijke groet,\nMarieke van Dijk',
    },
  });

  const question = await mail.receive({
    orgId: operator.id,
    mailbox: 'contact',
    raw: rawMail({
      from: 'Joost Peeters <joost.peeters@example.com>',
      to: contact,
      subject: 'Storing in het klantportaal',
      text: 'Hallo,\n\nSinds vanochtend kunnen onze medewerkers niet meer inloggen op het klantportaal. Ze krijgen een foutmelding na het invullen van het wachtwoord.\n\nGroet,\nJoost',
      messageId: '<demo-storing-1@mail.example.com>',
      date: now,
    }),
  });
  if (question.kind === 'opened') {
    const sent = await inbox.reply({
      actor: supportActor,
      id: question.conversationId,
      body: 'Dank voor uw melding. We hebben de storing gevonden en verholpen; inloggen werkt weer. Laat u het weten als het nog niet lukt?',
    });
    await mail.receive({
      orgId: operator.id,
      mailbox: 'contact',
      raw: rawMail({
        from: 'Joost Peeters <joost.peeters@example.com>',
        to: contact,
        subject: 'Re: Storing in het klantportaal',
        text: 'Het werkt weer, dank u wel!\n\nJoost',
        messageId: '<demo-storing-2@mail.example.com>',
        inReplyTo: sent.messageId,
        date: now,
      }),
    });
  }

  await intake.recordPhoneCall({
    actor: supportActor,
    locale: 'nl',
    request: {
      name: 'Henk de Boer',
      email: undefined,
      phone: '+31623456789',
      message:
        'Belde over de factuur van maart: het aantal gebruikers klopt niet (12 in plaats van 10). Teruggebeld beloofd na controle.',
    },
  });

  const api = await intake.submitContactRequest({
    actor: system,
    channel: 'api',
    locale: 'en',
    request: {
      name: 'Emily Clarke',
      email: 'emily.clarke@example.co.uk',
      phone: undefined,
      message:
        'Hello, could you send me your processor agreement template? We would like to review it before signing.',
    },
  });
  await inbox.assign({ actor: system, id: api.conversationId, userId: adminUserId });

  await mail.receive({
    orgId: operator.id,
    mailbox: 'privacy',
    raw: rawMail({
      from: 'Ruud Jansen <ruud.jansen@example.nl>',
      to: privacy,
      subject: 'Verzoek om inzage',
      text: 'Geachte heer, mevrouw,\n\nGraag ontvang ik een overzicht van de persoonsgegevens die u van mij verwerkt.\n\nMet vriendelijke groet,\nRuud Jansen',
      messageId: '<demo-inzage-1@example.nl>',
      date: now,
    }),
  });

  return [
    `  Demo inbox: 5 conversations; support login ${DEMO_SUPPORT_EMAIL}, one-time password ${support.oneTimePassword}`,
  ];
}
