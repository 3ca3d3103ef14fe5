/**
 * Markdown rendered safely (markdown-it): raw HTML is off (any `<script>` or tag is shown as
 * text), images are off (no tracking pixels, nothing fetched from elsewhere), and links may only
 * go to http(s), mailto or a path on this site, so `javascript:`, `data:` and `vbscript:` links
 * render as plain text. Used for the privacy officer's sections and for whole statements.
 */
import MarkdownIt, { type MarkdownIt as Renderer } from 'markdown-it';
import { type SafeHtml, trustedHtml } from './html.js';

const allowedLink = /^(https?:\/\/|mailto:)/i;
const sitePath = /^\/(?![/\\])/;

export function isAllowedLink(url: string): boolean {
  const trimmed = url.trim();
  return allowedLink.test(trimmed) || sitePath.test(trimmed) || trimmed.startsWith('#');
}

function createRenderer(): Renderer {
  const md = new MarkdownIt('default', { html: false, linkify: true, typographer: false, breaks: false });
  md.disable(['image']);
  md.validateLink = isAllowedLink;
  return md;
}

const renderer = createRenderer();

/** Markdown to HTML that is safe to put in a page. */
export function renderMarkdown(markdown: string): SafeHtml {
  return trustedHtml(renderer.render(markdown));
}

/**
 * Escapes text so markdown shows it literally (names, services, addresses inside the generated
 * statement). Line breaks become spaces: every value stands on one line.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\`*_[\]<>|~#!]/g, (ch) => `\\${ch}`);
}

/** A markdown link to an http(s) or mailto URL that was validated before (no spaces, no `<>`). */
export function markdownLink(text: string, url: string): string {
  return `[${escapeMarkdown(text)}](<${url.replace(/[<>\s]/g, encodeURIComponent)}>)`;
}
