// An agent listener on loopback, destinations for it to reach, and agents to dial it: ssh2's Client with
// a small SOCKS5 server of its own (or deliberately wrong ones), and stock OpenSSH `ssh -N -R 0`.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import { encodeMethodSelection, encodeReply, isFailure, parseGreeting, parseRequest } from '../../src/frontends/socks5-protocol.js';
import { loadOrCreateAgentHostKey, type AgentHostKey } from '../../src/ssh/agent-host-key.js';
import { AgentServer, type AgentRegistration, type AgentServerOptions } from '../../src/ssh/agent-server.js';
import type { AgentTestKeys, TestKey } from './agent-test-keys.js';

export interface Listening {
  server: AgentServer;
  port: number;
  hostKey: AgentHostKey;
  knownHostsFile: string;
}

export async function startAgentServer(keys: AgentTestKeys, options: Omit<AgentServerOptions, 'hostKey'>): Promise<Listening> {
  const hostKey = await loadOrCreateAgentHostKey(join(keys.dir, `host-key-${Math.random().toString(36).slice(2)}`));
  const server = new AgentServer({ ...options, hostKey: hostKey.privateKey });
  const { port } = await server.listen(0, '127.0.0.1');
  const knownHostsFile = join(keys.dir, `known_hosts-${port}`);
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostKey.publicKeyLine}\n`);
  return { server, port, hostKey, knownHostsFile };
}

export function nextRegistration(server: AgentServer, node: string): Promise<AgentRegistration> {
  return new Promise((resolve) => {
    const onRegistration = (registration: AgentRegistration): void => {
      if (registration.node !== node) return;
      server.off('registration', onRegistration);
      resolve(registration);
    };
    server.on('registration', onRegistration);
  });
}

/** Reads everything until the peer's EOF, then answers with it reversed and ends: a reply only a half-close allows. */
export async function startReverser(): Promise<{ port: number; close(): void }> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => socket.end(Buffer.concat(chunks).reverse()));
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** Writes `data`, half-closes, and collects the whole answer. */
export async function sendAndCollect(stream: Duplex, data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = once(stream, 'end');
  stream.end(data);
  await ended;
  return Buffer.concat(chunks);
}

/** What the ssh2 test agent does with each channel the daemon opens. */
export type AgentBehaviour =
  | { kind: 'socks' }
  /** Like a static forward to an echo service: SOCKS5 bytes come straight back. */
  | { kind: 'echo' }
  /** Never answers. */
  | { kind: 'silent' }
  /** Answers the greeting, then refuses every CONNECT with this SOCKS5 reply code. */
  | { kind: 'refuse'; reply: number };

export interface Ssh2Agent {
  client: ssh2.Client;
  /** Channels the daemon opened to this agent (as the agent sees them). */
  channels: Duplex[];
  close(): void;
}

export async function connectSsh2Agent(port: number, user: string, key: TestKey, behaviour: AgentBehaviour = { kind: 'socks' }): Promise<Ssh2Agent> {
  const client = new ssh2.Client();
  const channels: Duplex[] = [];
  client.on('tcp connection', (_info, accept) => {
    const channel = accept();
    channels.push(channel);
    serveChannel(channel, behaviour);
  });
  client.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port, username: user, privateKey: readKey(key), authHandler: ['publickey'] as never });
  });
  await new Promise<void>((resolve, reject) => client.forwardIn('localhost', 0, (err) => (err ? reject(err) : resolve())));
  return { client, channels, close: () => client.end() };
}

function readKey(key: TestKey): Buffer {
  return readFileSync(key.privateFile);
}

function serveChannel(channel: Duplex, behaviour: AgentBehaviour): void {
  channel.on('error', () => undefined);
  if (behaviour.kind === 'silent') return;
  if (behaviour.kind === 'echo') {
    channel.pipe(channel);
    return;
  }
  let buffered = Buffer.alloc(0);
  let greeted = false;
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    if (!greeted) {
      const greeting = parseGreeting(buffered);
      if (greeting === undefined || isFailure(greeting)) return;
      buffered = buffered.subarray(greeting.consumed);
      greeted = true;
      channel.write(encodeMethodSelection(0));
    }
    const request = parseRequest(buffered);
    if (request === undefined || isFailure(request)) return;
    channel.off('data', onData);
    const rest = buffered.subarray(request.consumed);
    if (behaviour.kind === 'refuse') {
      channel.end(encodeReply(behaviour.reply));
      return;
    }
    const upstream = net.connect({ host: request.value.host, port: request.value.port, allowHalfOpen: true });
    upstream.on('error', () => channel.end(encodeReply(0x05)));
    upstream.once('connect', () => {
      channel.write(encodeReply(0));
      if (rest.length > 0) upstream.write(rest);
      channel.pipe(upstream);
      upstream.pipe(channel);
    });
  };
  channel.on('data', onData);
}

export interface OpenSshAgent {
  process: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
  kill(): void;
}

/** `/usr/bin/ssh <extra> user@127.0.0.1 <command>`, e.g. extra `-N -R 0`, or a command to run. */
export function spawnOpenSsh(listening: Listening, user: string, identity: string, extra: string[], command: string[] = []): OpenSshAgent {
  const args = [
    '-p', String(listening.port),
    '-i', identity,
    '-F', '/dev/null',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${listening.knownHostsFile}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ExitOnForwardFailure=yes',
    ...extra,
    `${user}@127.0.0.1`,
    ...command,
  ];
  const child = spawn('/usr/bin/ssh', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, stderr: () => stderr, exited, kill: () => child.kill('SIGKILL') };
}
