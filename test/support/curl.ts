// Real curl as the client of the proxies under test.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

export interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs curl with no proxy settings from the environment, so only the flags given here apply. */
export function curl(args: string[]): Promise<CurlResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)));
  return new Promise((resolve) => {
    execFile('/usr/bin/curl', ['-sS', '--max-time', '15', ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** curl --fail that must succeed; returns the body. */
export async function curlOk(args: string[]): Promise<string> {
  const r = await curl(['--fail', ...args]);
  assert.equal(r.code, 0, `curl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
