import { describe, expect, it } from 'vitest';
import { html, trustedHtml } from './html.js';

describe('html', () => {
  it('escapes interpolated text so user input cannot open a tag or attribute', () => {
    const evil = `"><script>alert('x')</script>`;
    const out = html`<input value="${evil}">`.value;
    expect(out).not.toContain('<script>');
    expect(out).toBe('<input value="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;">');
  });

  it('does not escape fragments that are already safe, and renders arrays and empty values', () => {
    const items = ['a<b', 'c'].map((s) => html`<li>${s}</li>`);
    expect(html`<ul>${items}${null}${undefined}${false}</ul>`.value).toBe(
      '<ul><li>a&lt;b</li><li>c</li></ul>',
    );
    expect(html`${trustedHtml('<b>x</b>')}`.value).toBe('<b>x</b>');
  });
});
