// The systemd units in examples/ pass `systemd-analyze verify`: unknown keys, bad values, missing
// executables. Without systemd-analyze the check is skipped with a message, except under CI=true, where a
// missing tool fails (npm test's setup installs it).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const units = readdirSync(EXAMPLES).filter((f) => f.endsWith('.service'));
const missing = !existsSync(SYSTEMD_ANALYZE);
const skip = missing && process.env.CI !== 'true' ? `${SYSTEMD_ANALYZE} is missing (apt-get install systemd; npm test's setup does it as root)` : false;

function verify(unit: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    // --man=no: the units' Documentation= pages are not installed here, and that is no fault of the unit.
    execFile(SYSTEMD_ANALYZE, ['verify', '--man=no', `${EXAMPLES}${unit}`], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('systemd units in examples/', () => {
  test('there are units to check', () => assert.ok(units.length >= 3, units.join(', ')));
  for (const unit of units) {
    test(`systemd-analyze verify ${unit}`, { skip }, async () => {
      assert.ok(!missing, `${SYSTEMD_ANALYZE} is missing and CI=true: it must be installed`);
      const { code, output } = await verify(unit);
      // Warnings (an unknown key, a value it ignores) exit 0 but are printed, naming the unit's file.
      const aboutUnit = output.split('\n').filter((line) => line.includes(unit));
      assert.equal(code, 0, output);
      assert.deepEqual(aboutUnit, [], output);
    });
  }
});
