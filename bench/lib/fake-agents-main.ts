// Child process for the reverse scale benchmark: many simulated node agents (ssh2 Clients), each
// registering a remote dynamic forward as `ssh -N -R 0` does and answering the SOCKS5 greeting that the
// AgentServer probes a registration with. argv: <count>. Sends { ready: agentKeyLine }; on { go: port }
// every agent connects at once, each from its own loopback address (a node's own IP), as node a<i>.
import { PassThrough } from 'node:stream';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import { encodeMethodSelection, isFailure, parseGreeting } from '../../src/frontends/socks5-protocol.js';
import { generateEd25519 } from '../../src/simulator/ssh-keys.js';
import { agentName, spreadAddress } from './spread-address.js';

const count = Number(process.argv[2]);
const key = generateEd25519('bench@agents');
const clients: ssh2.Client[] = [];
let failures = 0;
let firstFailure: string | undefined;

/** Answers the SOCKS5 greeting with "no authentication"; nothing here dials further. */
function answerSocks(channel: Duplex): void {
  channel.on('error', () => undefined);
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const greeting = parseGreeting(buffered);
    if (greeting === undefined) return;
    channel.off('data', onData);
    if (isFailure(greeting)) channel.destroy();
    else channel.write(encodeMethodSelection(0));
    channel.pipe(new PassThrough().resume());
  };
  channel.on('data', onData);
}

function fail(err: Error): void {
  failures += 1;
  firstFailure ??= err.message;
}

function connect(port: number, i: number): void {
  const client = new ssh2.Client();
  clients.push(client);
  client.on('tcp connection', (_info, accept) => answerSocks(accept()));
  client.on('error', fail);
  client.once('ready', () => client.forwardIn('localhost', 0, (err) => err && fail(err)));
  client.connect({
    host: '127.0.0.1', port, localAddress: spreadAddress(i), username: agentName(i), privateKey: key.private,
    authHandler: ['publickey'] as never, readyTimeout: 60_000, keepaliveInterval: 0,
  });
}

process.on('message', (msg: { go?: number; report?: true }) => {
  if (msg.go !== undefined) for (let i = 0; i < count; i++) connect(msg.go, i);
  if (msg.report) process.send?.({ failures: { count: failures, first: firstFailure } });
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: key.public });
