import { describe, expect, it } from 'vitest';
import {
  type MailTemplateName,
  mailTemplateNames,
  renderMail,
  renderMailFromData,
} from './mail-templates.js';

describe('mail templates', () => {
  it('renders the password reset in Dutch with the link, the expiry and a plain-text part', () => {
    const mail = renderMail('password_reset', 'nl', {
      recipientName: 'Sanne',
      resetUrl: 'https://kluis.example.nl/reset/abc123',
      expiresInMinutes: 30,
    });
    expect(mail.subject).toBe('Nieuw wachtwoord instellen');
    expect(mail.text).toContain('Beste Sanne,');
    expect(mail.text).toContain('https://kluis.example.nl/reset/abc123');
    expect(mail.text).toContain('30 minuten');
    expect(mail.html).toContain('<html lang="nl">');
    expect(mail.html).toContain(
      '<a href="https://kluis.example.nl/reset/abc123">Nieuw wachtwoord kiezen</a>',
    );
  });

  it('accepts a development link to localhost', () => {
    const mail = renderMail('password_reset', 'en', {
      resetUrl: 'http://localhost:3000/reset/x',
      expiresInMinutes: 5,
    });
    expect(mail.text).toContain('http://localhost:3000/reset/x');
  });

  it('renders the password reset in English with singular and plural minutes', () => {
    const one = renderMail('password_reset', 'en', { resetUrl: 'https://x.example/r', expiresInMinutes: 1 });
    expect(one.subject).toBe('Set a new password');
    expect(one.text).toContain('Hello,');
    expect(one.text).toContain('works for 1 minute and');
    expect(
      renderMail('password_reset', 'en', { resetUrl: 'https://x.example/r', expiresInMinutes: 60 }).text,
    ).toContain('60 minutes');
  });

  it('escapes every variable in the HTML part and keeps it literal in the text part', () => {
    const mail = renderMail('notification', 'en', {
      subject: 'New request <b>',
      recipientName: '<script>alert(1)</script>',
      body: 'First line & more\nsecond line "quoted"\n\nA second paragraph <img src=x onerror=alert(1)>',
      actionUrl: 'https://kluis.example.nl/staff/requests/1?a=1&b=2',
      actionLabel: 'Open <it>',
    });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<img');
    expect(mail.html).toContain('Dear &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(mail.html).toContain('<p>First line &amp; more<br>second line &quot;quoted&quot;</p>');
    expect(mail.html).toContain('href="https://kluis.example.nl/staff/requests/1?a=1&amp;b=2"');
    expect(mail.html).toContain('<title>New request &lt;b&gt;</title>');
    expect(mail.text).toContain('A second paragraph <img src=x onerror=alert(1)>');
    expect(mail.text).toContain('Open <it>:\nhttps://kluis.example.nl/staff/requests/1?a=1&b=2');
  });

  it('refuses a javascript: link, a subject with a line break and missing variables', () => {
    expect(() =>
      renderMail('notification', 'nl', { subject: 'x', body: 'y', actionUrl: 'javascript:alert(1)' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION' }));
    expect(() =>
      renderMail('notification', 'nl', { subject: 'x\r\nBcc: evil@example.com', body: 'y' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION' }));
    expect(() => renderMailFromData('password_reset', 'nl', { expiresInMinutes: 5, secret: 'x' })).toThrow(
      expect.objectContaining({
        code: 'ERR_VALIDATION',
        message: 'variables do not fit mail template password_reset (resetUrl:invalid_type)',
      }),
    );
  });

  it('has every template in both languages with a subject, a text part and an HTML part', () => {
    const samples: Record<MailTemplateName, unknown> = {
      notification: { subject: 'S', body: 'B' },
      password_reset: { resetUrl: 'https://x.example/r', expiresInMinutes: 10 },
      staff_invitation: { orgName: 'O', inviteUrl: 'https://x.example/i', expiresInDays: 7 },
      rights_confirm: { orgName: 'O', right: 'access', statusUrl: 'https://x.example/s', expiresInDays: 14 },
      rights_reply: { orgName: 'O', right: 'erasure', kind: 'refused', reasons: 'R' },
    };
    for (const name of mailTemplateNames) {
      const nl = renderMailFromData(name, 'nl', samples[name]);
      const en = renderMailFromData(name, 'en', samples[name]);
      for (const m of [nl, en]) {
        expect(m.subject.length).toBeGreaterThan(0);
        expect(m.text.length).toBeGreaterThan(20);
        expect(m.html).toContain('</html>');
      }
      expect(nl.text).not.toBe(en.text);
    }
  });

  it('ends every rights reply, whatever its outcome, with the complaint route to the Autoriteit Persoonsgegevens (P17)', () => {
    for (const kind of ['extended', 'paused', 'ready', 'fulfilled', 'partly_fulfilled', 'refused'] as const) {
      for (const locale of ['nl', 'en'] as const) {
        const m = renderMail('rights_reply', locale, {
          orgName: 'Ambrix',
          right: 'access',
          kind,
          reasons: 'Omdat.',
          months: 1,
          due: '2026-01-01',
          expires: '2026-01-01',
        });
        expect(m.text, `${kind} ${locale}`).toContain('Autoriteit Persoonsgegevens');
        expect(m.text).toContain('https://autoriteitpersoonsgegevens.nl/een-tip-of-klacht-doorgeven');
        expect(m.html).toContain('Autoriteit Persoonsgegevens');
      }
    }
  });
});
