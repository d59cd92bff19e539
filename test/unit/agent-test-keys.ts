// Keys and OpenSSH user certificates for the agent tests, made with the real ssh-keygen.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestKey {
  privateFile: string;
  publicLine: string;
  /** The public key's wire blob. */
  blob: Buffer;
}

export interface TestCertificate {
  file: string;
  line: string;
  algorithm: string;
  blob: Buffer;
}

export class AgentTestKeys {
  readonly dir = mkdtempSync(join(tmpdir(), 'agent-keys-'));

  key(name: string, type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519'): TestKey {
    const privateFile = join(this.dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', name, '-f', privateFile]);
    const publicLine = readFileSync(`${privateFile}.pub`, 'utf8').trim();
    return { privateFile, publicLine, blob: Buffer.from(publicLine.split(' ')[1] ?? '', 'base64') };
  }

  /** `ssh-keygen -s ca -I id -n principals [-V validity] [-O option...] key.pub`; returns the certificate. */
  certify(ca: TestKey, key: TestKey, options: { id?: string; principals?: string[]; validity?: string; options?: string[]; host?: boolean } = {}): TestCertificate {
    const args = ['-q', '-s', ca.privateFile, '-I', options.id ?? 'test'];
    if (options.principals) args.push('-n', options.principals.join(','));
    if (options.validity) args.push('-V', options.validity);
    if (options.host) args.push('-h');
    for (const option of options.options ?? []) args.push('-O', option);
    execFileSync('ssh-keygen', [...args, `${key.privateFile}.pub`]);
    const file = `${key.privateFile}-cert.pub`;
    const line = readFileSync(file, 'utf8').trim();
    const [algorithm = '', base64 = ''] = line.split(' ');
    return { file, line, algorithm, blob: Buffer.from(base64, 'base64') };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
