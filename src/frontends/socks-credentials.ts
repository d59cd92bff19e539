import { ConfigError } from '../errors.js';
import { readPrivateFile } from '../fs/file-permissions.js';

/**
 * SOCKS5 usernames and passwords from config. Passwords live in files (refused when group or others can
 * read them) or environment variables, never in the config itself, and never reach a log.
 */
export async function readSocksUsers(
  users: ReadonlyArray<{ username: string; passwordFile?: string; passwordEnv?: string }>,
): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const [i, user] of users.entries()) {
    const field = `listeners.socks.users[${i}]`;
    let password: string | undefined;
    if (user.passwordFile !== undefined) {
      const text = await readPrivateFile(user.passwordFile, 'password file', (message, cause) => new ConfigError(`${field}.passwordFile`, message, { cause }));
      password = text.toString('utf8').replace(/[\r\n]+$/, '');
    } else if (user.passwordEnv !== undefined) {
      password = process.env[user.passwordEnv];
      if (password === undefined) throw new ConfigError(`${field}.passwordEnv`, `environment variable ${user.passwordEnv} is not set`);
    }
    if (!password) throw new ConfigError(field, `user "${user.username}" has an empty password`);
    result.set(user.username, password);
  }
  return result;
}
