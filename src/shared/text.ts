/**
 * Free text from outside (the public forms, inbound mail) before it is stored and shown to
 * staff: control characters that can hide or disguise content are removed (issue 16).
 * - C0 controls other than tab and line breaks (NUL, ESC, BEL, ...), DEL and the C1 controls:
 *   NUL truncates text in some tools, ESC starts terminal escape sequences in logs and exports.
 * - Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): an RTL
 *   override makes `gpj.exe` read as `exe.jpg` and can reorder what staff read. The plain
 *   direction marks (U+200E, U+200F) stay: right-to-left writers need them and they reorder
 *   nothing on their own.
 * Line breaks are normalised to `\n`.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const unsafe = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function stripUnsafeControls(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(unsafe, '');
}

/** Whether `text` holds anything `stripUnsafeControls` would remove. */
export function hasUnsafeControls(text: string): boolean {
  return new RegExp(unsafe.source).test(text);
}
