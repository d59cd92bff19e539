import YAML from 'yaml';

/**
 * Parses YAML (JSON included) and reports the first syntax error as "invalid YAML at line L, column C:
 * <what>" through `fail`, so each caller keeps its own error type. Keys given twice are errors, not a
 * silent last-one-wins.
 */
export function parseYaml(text: string, fail: (message: string, cause: unknown) => Error): unknown {
  const doc = YAML.parseDocument(text);
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    // yaml appends its own position and a source excerpt after " at line"; keep only the description.
    const what = error.message.split(/ at line \d+/)[0] ?? error.message;
    throw fail(`invalid YAML${where}: ${what}`, error);
  }
  return doc.toJS();
}
