// ssh2 on its own, without the pool, dialer or stream wrapper: the floor our dial path builds on.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { Sshd, SshKeys } from './sshd.js';
import { USER } from './sshd.js';
import type { Opener } from './traffic.js';

export interface RawSsh2 {
  opener(host: string, port: number): Opener;
  close(): void;
}

/** One ssh2 Client over a socket with Nagle off, public-key auth only (what the pool does, minus the rest). */
export async function rawSsh2(keys: SshKeys, node: Sshd): Promise<RawSsh2> {
  const sock = net.connect({ host: node.address, port: node.port, noDelay: true });
  await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({ sock, username: USER, privateKey: readFileSync(keys.identityFile), authHandler: ['publickey'] as unknown as ssh2.ConnectConfig['authHandler'] });
  });
  return {
    opener: (host, port) => () =>
      new Promise<Duplex>((resolve, reject) => client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => (err ? reject(err) : resolve(channel)))),
    close: () => client.end(),
  };
}
