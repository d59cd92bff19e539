import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Checks RFC 1929 credentials without telling an attacker anything through timing: passwords are compared
 * as SHA-256 digests with timingSafeEqual (equal lengths whatever was typed), and an unknown user is
 * compared against a random digest so it costs the same as a wrong password. Only digests are kept.
 */
export class Socks5Credentials {
  private readonly digests = new Map<string, Buffer>();
  private readonly decoy = randomBytes(32);

  constructor(users: ReadonlyMap<string, string>) {
    for (const [username, password] of users) this.digests.set(username, digest(password));
  }

  get size(): number {
    return this.digests.size;
  }

  verify(username: string, password: string): boolean {
    const expected = this.digests.get(username);
    const match = timingSafeEqual(digest(password), expected ?? this.decoy);
    return expected !== undefined && match;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
