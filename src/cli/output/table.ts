import type { Palette, Style } from './colour.js';

/**
 * Aligned text tables in the style of kubectl: upper-case headers, columns separated by three spaces,
 * the last column unpadded. Widths are measured before colouring, so escape codes never skew them.
 */

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

export interface Cell {
  text: string;
  style?: Style;
}

export type CellInput = string | Cell;

const GAP = '   ';

export function renderTable(columns: readonly Column[], rows: readonly (readonly CellInput[])[], colours: Palette): string {
  const cells = rows.map((row) => columns.map((_, i) => toCell(row[i])));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((row) => width(row[i]!.text))));
  const line = (row: readonly Cell[], header: boolean): string =>
    row
      .map((cell, i) => {
        const last = i === columns.length - 1;
        const gap = ' '.repeat(widths[i]! - width(cell.text));
        const right = columns[i]!.align === 'right';
        const text = colours.paint(cell.text, header ? 'bold' : cell.style);
        if (right) return gap + text;
        return last ? text : text + gap;
      })
      .join(GAP)
      .trimEnd();
  const header = columns.map((c) => ({ text: c.header }));
  return [line(header, true), ...cells.map((row) => line(row, false))].join('\n') + '\n';
}

function toCell(input: CellInput | undefined): Cell {
  if (input === undefined) return { text: '' };
  return typeof input === 'string' ? { text: input } : input;
}

/** Code points, so a name with a non-ASCII letter still lines up (wide CJK glyphs are not accounted for). */
function width(text: string): number {
  return [...text].length;
}
