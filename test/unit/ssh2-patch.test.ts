// patches/ssh2+<version>.patch makes ssh2 spend less CPU per byte sent; scripts/setup.mjs applies it (with
// patch-package) before `npm test`, `npm start` and `npm run bench`, or run `npm run setup` after `npm ci`.
// These tests check ssh2's behaviour, not a marker, so they fail when an ssh2 upgrade or a fresh install
// drops the patch (after an upgrade: re-create it with `npx patch-package ssh2 --exclude 'package\.json$|/build/'`).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import { generateEd25519 } from '../../src/simulator/ssh-keys.js';

const require = createRequire(import.meta.url);
const CRYPTO_MODULE = require.resolve('ssh2/lib/protocol/crypto.js');
const CIPHER = 'aes128-gcm@openssh.com';
/** OpenSSH's and ssh2's channel packet size: what one CHANNEL_DATA packet carries at most. */
const PACKET_PAYLOAD = 32 * 1024;

interface Cipher {
  allocPacket(payloadLen: number): Buffer;
  encrypt(packet: Buffer): void;
}
interface CryptoModule {
  CIPHER_INFO: Record<string, unknown>;
  createCipher(config: unknown): Cipher;
}

/** A fresh copy of ssh2's crypto module that sees `randomFillSync` as `fill` (ssh2 binds it at load). */
function loadCryptoWith(fill: typeof crypto.randomFillSync): CryptoModule {
  const original = crypto.randomFillSync;
  const cached = require.cache[CRYPTO_MODULE];
  delete require.cache[CRYPTO_MODULE];
  crypto.randomFillSync = fill;
  try {
    return require(CRYPTO_MODULE) as CryptoModule;
  } finally {
    crypto.randomFillSync = original;
    if (cached) require.cache[CRYPTO_MODULE] = cached;
    else delete require.cache[CRYPTO_MODULE];
  }
}

function aesGcmCipher(mod: CryptoModule, onWrite: (packet: Buffer) => void): Cipher {
  return mod.createCipher({
    outbound: {
      onWrite,
      cipherInfo: mod.CIPHER_INFO[CIPHER],
      cipherKey: Buffer.alloc(16, 1),
      cipherIV: Buffer.alloc(12, 2),
      seqno: 0,
      macInfo: {},
    },
  });
}

test('ssh2 pads packets from a pool of random bytes, not with one randomFillSync call per packet', () => {
  let calls = 0;
  const mod = loadCryptoWith(((buffer: Buffer, ...rest: [number?, number?]) => {
    calls++;
    return crypto.randomFillSync(buffer, ...rest);
  }) as typeof crypto.randomFillSync);
  const cipher = aesGcmCipher(mod, () => undefined);
  const paddings: Buffer[] = [];
  for (let i = 0; i < 100; i++) {
    const packet = cipher.allocPacket(9);
    const padLen = packet[4] as number;
    paddings.push(Buffer.from(packet.subarray(5 + 9, 5 + 9 + padLen)));
  }
  assert.ok(calls <= 2, `randomFillSync called ${calls} times for 100 packets`);
  // Each packet still gets its own random bytes (a repeat among 100 paddings of >= 4 bytes would be a bug).
  assert.equal(new Set(paddings.map((p) => p.toString('hex'))).size, 100);
});

test('ssh2 carves large packets one after another from one slab', () => {
  const mod = loadCryptoWith(crypto.randomFillSync);
  const cipher = aesGcmCipher(mod, () => undefined);
  const first = cipher.allocPacket(9 + PACKET_PAYLOAD);
  const second = cipher.allocPacket(9 + PACKET_PAYLOAD);
  assert.equal(second.buffer, first.buffer, 'same ArrayBuffer');
  // AES-GCM packets are allocated with room for their 16-byte tag.
  assert.equal(second.byteOffset, first.byteOffset + first.length);
});

// An ssh2 client and server over loopback: one large channel write must reach the client's socket in fewer
// writes than it has packets, and arrive whole.
let server: ssh2.Server;
let port = 0;
const received: Buffer[] = [];
let receivedAll: Promise<void>;

before(async () => {
  const hostKey = generateEd25519('ssh2-patch-test').private;
  let done: () => void;
  receivedAll = new Promise((resolve) => (done = resolve));
  server = new ssh2.Server({ hostKeys: [hostKey], algorithms: { cipher: [CIPHER] } }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('tcpip', (accept) => {
      const channel = accept();
      channel.on('data', (chunk: Buffer) => received.push(chunk));
      channel.on('end', () => done());
      channel.resume();
    });
    client.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as net.AddressInfo).port;
});
after(() => server.close());

test('ssh2 hands the packets of one large channel write to the socket in fewer writes', async () => {
  const sock = net.connect({ host: '127.0.0.1', port });
  await once(sock, 'connect');
  const writes: number[] = [];
  const write = sock.write.bind(sock) as (chunk: Buffer) => boolean;
  (sock as unknown as { write: (chunk: Buffer) => boolean }).write = (chunk: Buffer) => {
    writes.push(chunk.length);
    return write(chunk);
  };
  const client = new ssh2.Client();
  client.connect({ sock, username: 'test', algorithms: { cipher: [CIPHER] } });
  await once(client, 'ready');
  const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
    client.forwardOut('127.0.0.1', 0, '127.0.0.1', 9, (err, ch) => (err ? reject(err) : resolve(ch))),
  );
  const payload = crypto.randomBytes(8 * PACKET_PAYLOAD);
  writes.length = 0;
  channel.end(payload);
  await receivedAll;
  client.end();
  assert.ok(writes.some((n) => n > 2 * PACKET_PAYLOAD), `socket writes of ${writes.join(', ')} bytes: none joins packets`);
  assert.ok(Buffer.concat(received).equals(payload), 'the payload arrives whole, in order');
});

test('ssh2 destroys a finished channel without calling end() again (no error built per closed stream)', async () => {
  const { Channel } = require('ssh2/lib/Channel.js') as { Channel: new (client: unknown, info: unknown) => NodeJS.ReadWriteStream & { destroy(): void } };
  const protocol = { channelEOF: () => {}, channelClose: () => {} };
  const open = { id: 1, window: 2 * 1024 * 1024, packetSize: PACKET_PAYLOAD, state: 'open' };
  const channel = new Channel({ _protocol: protocol }, { type: 'direct-tcpip', incoming: { ...open }, outgoing: { ...open } });
  channel.end();
  await once(channel, 'finish');
  let endCalls = 0;
  channel.end = () => (endCalls++, channel);
  channel.destroy();
  assert.equal(endCalls, 0);
});

test('ssh2 keeps a parsed private key as a KeyObject after its first signature (no PEM parse per signature)', () => {
  const key = ssh2.utils.parseKey(ssh2.utils.generateKeyPairSync('ed25519').private);
  assert.ok(!(key instanceof Error) && !Array.isArray(key));
  const keyObjects = (): unknown[] =>
    Object.getOwnPropertySymbols(key).map((s) => (key as unknown as Record<symbol, unknown>)[s]).filter((v) => v instanceof crypto.KeyObject);
  assert.equal(keyObjects().length, 0);
  const data = Buffer.from('session id and userauth request');
  const signature = key.sign(data);
  assert.ok(Buffer.isBuffer(signature));
  assert.equal(keyObjects().length, 1);
  assert.ok(key.verify(data, signature), 'the cached key signs as the PEM did');
});
