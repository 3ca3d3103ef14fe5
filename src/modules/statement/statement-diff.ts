/**
 * Differences between two published versions (P18), line by line over the stored markdown, with
 * jsdiff. Pure: the view renders each line as safe markdown inside `<ins>`/`<del>`.
 */
import { diffLines } from 'diff';

export type DiffKind = 'same' | 'added' | 'removed';

export interface DiffBlock {
  readonly kind: DiffKind;
  /** Non-empty markdown lines (blank lines are layout, not content). */
  readonly lines: readonly string[];
}

export interface StatementDiff {
  readonly blocks: readonly DiffBlock[];
  readonly added: number;
  readonly removed: number;
}

export function diffStatements(oldMarkdown: string, newMarkdown: string): StatementDiff {
  const blocks: DiffBlock[] = [];
  let added = 0;
  let removed = 0;
  for (const change of diffLines(oldMarkdown, newMarkdown)) {
    const lines = change.value.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    const kind: DiffKind = change.added ? 'added' : change.removed ? 'removed' : 'same';
    if (kind === 'added') added += lines.length;
    if (kind === 'removed') removed += lines.length;
    const last = blocks[blocks.length - 1];
    if (last !== undefined && last.kind === kind)
      blocks[blocks.length - 1] = { kind, lines: [...last.lines, ...lines] };
    else blocks.push({ kind, lines });
  }
  return { blocks, added, removed };
}
