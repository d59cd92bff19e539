import { mkdir, readFile } from 'node:fs/promises';
import { homedir, hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { COMMAND_SUMMARIES } from './command-summaries.js';
import { ConfigError } from '../errors.js';
import { generateKeyPair, type GeneratedKeyPair, type KeyType } from '../keys/keygen.js';
import { writeKeyPair } from '../keys/write-key-pair.js';
import { positiveInt } from './connection-options.js';

interface KeygenFlags {
  type: KeyType;
  bits?: number;
  comment?: string;
  file?: string;
  force?: boolean;
  passphraseFile?: string;
  passphraseEnv?: string;
}

/**
 * `ssh-egress keygen`: writes a key pair and prints its authorized_keys line, then a `#` line with the
 * fingerprint, so stdout can be appended to authorized_keys as it is. Private material never reaches
 * stdout or stderr, and there is no --passphrase flag: command lines are visible to every user in `ps`.
 */
export function keygenCommand(setExitCode: (code: number) => void): Command {
  return new Command('keygen')
    .description(COMMAND_SUMMARIES.keygen)
    .addOption(new Option('-t, --type <type>', 'key type').choices(['ed25519', 'rsa']).default('ed25519'))
    .option('-b, --bits <bits>', 'RSA key size, at least 3072 (default 3072)', positiveInt)
    .option('-C, --comment <text>', 'comment at the end of the public key line (default: user@host)')
    .option('-f, --file <path>', 'private key file; the public key goes to <path>.pub (default: ~/.ssh/id_<type>)')
    .option('--force', 'replace an existing key pair at that path')
    .addOption(new Option('--passphrase-file <file>', 'encrypt the private key with the passphrase in this file').conflicts('passphraseEnv'))
    .option('--passphrase-env <var>', 'encrypt the private key with the passphrase in this environment variable')
    .addHelpText(
      'after',
      `
Examples:
  ssh-egress keygen -f /etc/ssh-egress/id_ed25519 -C egress@control-plane >> authorized_keys
  ssh-egress keygen -t rsa -b 4096 -f key --passphrase-env KEY_PASSPHRASE`,
    )
    .action(async (flags: KeygenFlags) => {
      try {
        const file = flags.file ?? (await defaultKeyFile(flags.type));
        const pair = await generateKeyPair({
          type: flags.type,
          ...(flags.bits !== undefined && { bits: flags.bits }),
          comment: flags.comment ?? defaultComment(),
          passphrase: await passphraseFrom(flags),
        });
        const written = await writeKeyPair(file, pair, { force: flags.force === true });
        process.stdout.write(`${pair.publicKey}\n# ${describe(pair)}; private key ${written.privateKeyFile}, public key ${written.publicKeyFile}\n`);
      } catch (err) {
        process.stderr.write(`ssh-egress keygen: ${(err as Error).message}\n`);
        // Wrong options are usage errors; a file in the way or a failed write is the operation failing.
        setExitCode(err instanceof ConfigError ? 2 : 1);
      }
    });
}

/** As `ssh-keygen -l` prints it: "256 SHA256:... comment (ED25519)". */
function describe(pair: GeneratedKeyPair): string {
  const comment = pair.publicKey.split(' ').slice(2).join(' ');
  return `${pair.bits} ${pair.fingerprint}${comment ? ` ${comment}` : ''} (${pair.type.toUpperCase()})`;
}

/** ssh-keygen's default place; ~/.ssh is created 0700 like ssh-keygen does. */
async function defaultKeyFile(type: KeyType): Promise<string> {
  const file = join(homedir(), '.ssh', `id_${type}`);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  return file;
}

function defaultComment(): string | undefined {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return undefined; // no passwd entry (some containers): no comment rather than a made-up one
  }
}

async function passphraseFrom(flags: KeygenFlags): Promise<string | undefined> {
  let passphrase: string | undefined;
  let source = '';
  if (flags.passphraseFile !== undefined) {
    source = `passphrase file ${flags.passphraseFile}`;
    try {
      passphrase = (await readFile(flags.passphraseFile, 'utf8')).replace(/[\r\n]+$/, '');
    } catch (err) {
      throw new ConfigError('--passphrase-file', `cannot read ${flags.passphraseFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else if (flags.passphraseEnv !== undefined) {
    source = `environment variable ${flags.passphraseEnv}`;
    passphrase = process.env[flags.passphraseEnv];
    if (passphrase === undefined) throw new ConfigError('--passphrase-env', `${flags.passphraseEnv} is not set`);
  } else {
    return undefined;
  }
  // Asked for encryption but got nothing: writing an unencrypted key instead would be a silent downgrade.
  if (passphrase === '') throw new ConfigError(flags.passphraseFile !== undefined ? '--passphrase-file' : '--passphrase-env', `${source} is empty`);
  return passphrase;
}
