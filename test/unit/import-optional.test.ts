// Optional packages: a missing one is a MissingPackageError that names it and says how to add it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MissingPackageError } from '../../src/errors.js';
import { importOptional } from '../../src/util/import-optional.js';

test('a package that is not installed: one line naming it, what needs it and the npm command', async () => {
  const missing = '@ssh-egress-test/not-installed';
  const err = await importOptional(missing, 'the test feature', () => import(missing)).catch((e: unknown) => e);
  assert.ok(err instanceof MissingPackageError, String(err));
  assert.equal(err.code, 'ERR_MISSING_PACKAGE');
  assert.equal(err.packageName, missing);
  assert.equal(err.message, `the test feature needs ${missing}, which is not installed: add it with \`npm install ${missing}\``);
});

test('an installed package loads; any other failure passes through as it is', async () => {
  const yaml = await importOptional('yaml', 'parsing', () => import('yaml'));
  assert.equal(typeof yaml.parse, 'function');
  const broken = new Error('SyntaxError in the package');
  await assert.rejects(importOptional('yaml', 'parsing', () => Promise.reject(broken)), (e) => e === broken);
});
