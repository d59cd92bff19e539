import YAML from 'yaml';

/**
 * Parses YAML (JSON included) and reports the first syntax error as "invalid YAML at line L, column C:
 * <what>" through `fail`, so each caller keeps its own error type. Keys given twice are errors, not a
 * silent last-one-wins.
 */
export function parseYaml(text: string, fail: (message: string, cause: unknown) => Error): unknown {
  // prettyErrors would format a position and excerpt for every error, which takes seconds on a file with
  // tens of thousands of them ("[,,,,...]"); only the first is reported, so place that one ourselves.
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { prettyErrors: false, lineCounter });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    // yaml appends its own position and a source excerpt after " at line"; keep only the description.
    const what = error.message.split(/ at line \d+/)[0] ?? error.message;
    throw fail(`invalid YAML${where}: ${what}`, error);
  }
  try {
    return doc.toJS();
  } catch (err) {
    // toJS() refuses what parses but cannot be built safely: aliases that expand without bound ("billion laughs").
    throw fail(`unusable YAML: ${(err as Error).message}`, err);
  }
}
