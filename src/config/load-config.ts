/**
 * Reads the YAML config file. Every problem is a ConfigError that names the file and the field
 * ("ssh-egress.yaml: listeners.admin.listen: ..."), or the line and column for YAML syntax.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseYaml } from '../util/parse-yaml.js';
import { describeFsError } from '../fs/file-permissions.js';
import { isRecord } from '../util/is-record.js';
import { configFileSchema } from './config-schema.js';
import { configError, configErrorFromZod } from '../options/option-error.js';
import { configFileIssuePath } from './config-error.js';
import { egressConfigFromFile } from './config-from-file.js';
import { checkConfigRules } from './config-rules.js';
import type { EgressConfig } from './config-types.js';

export async function loadConfig(file: string): Promise<EgressConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw configError(file, '', `config file ${describeFsError(err)}`, { cause: err });
  }
  return parseConfig(text, file, path.dirname(path.resolve(file)));
}

/** Parses config text; `source` names it in errors, relative paths in it resolve against `baseDir`. */
export function parseConfig(text: string, source: string, baseDir: string): EgressConfig {
  const data = parseYamlConfig(text, source);
  if (!isRecord(data)) {
    const got = data === null || data === undefined ? 'an empty document' : 'something else';
    throw configError(source, '', `expected a mapping with ssh:, inventory: and the other sections, got ${got}`);
  }
  const result = configFileSchema.safeParse(data, { reportInput: true });
  if (!result.success) throw configErrorFromZod(result.error, configFileSchema, data, source, '', configFileIssuePath);
  checkConfigRules(result.data, source);
  return egressConfigFromFile(result.data, source, baseDir);
}

function parseYamlConfig(text: string, source: string): unknown {
  return parseYaml(text, (message, cause) => configError(source, '', message, { cause }));
}
