/**
 * Colours for the CLI's tables, without a dependency: on only when the stream is a terminal and NO_COLOR
 * is unset or empty (https://no-color.org), so pipes, files and CI logs get plain text.
 */

export type Style = 'ok' | 'fail' | 'warn' | 'dim' | 'bold';

const SGR: Readonly<Record<Style, [number, number]>> = {
  ok: [32, 39], // green
  fail: [31, 39], // red
  warn: [33, 39], // yellow
  dim: [2, 22],
  bold: [1, 22],
};

export interface Palette {
  readonly enabled: boolean;
  paint(text: string, style: Style | undefined): string;
}

export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const noColor = env.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === '');
}

export function palette(enabled: boolean): Palette {
  return {
    enabled,
    paint: (text, style) => {
      if (!enabled || style === undefined || text === '') return text;
      const [on, off] = SGR[style];
      return `\x1b[${on}m${text}\x1b[${off}m`;
    },
  };
}

/** The palette for writing to `stream` in this environment. */
export function paletteFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Palette {
  return palette(colourEnabled(stream, env));
}
