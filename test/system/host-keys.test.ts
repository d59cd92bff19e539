// Host-key verification against real OpenSSH sshd: a man in the middle is refused before authentication,
// hashed and @revoked known_hosts lines, pinned fingerprints, trust on first use, and a too-open client key.
import assert from 'node:assert/strict';
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { TunnelPool, loadInventory, type NodeSpec, type TunnelPoolOptions, type TunnelStatus } from '../../src/index.js';
import { captureLogger, type LogEntry } from '../unit/capture-logger.js';
import { isAlive, run, signal, waitFor } from './netns.js';
import { fingerprint, sshdFiles, sshKeygen, startSshdIn, writeSshdConfig } from './sshd.js';
import { loadTopology, nodeOf, type TopologyNode } from './topology.js';

const t = loadTopology();
const n1 = nodeOf(t, 'n1');
const work = join(t.dir, 'host-keys');
/** A second sshd in n1's namespace, same config shape as the node's own, on its own port with its own key. */
const second = { port: 2222, files: sshdFiles(join(work, 'sshd-2222')), pid: 0 };
const impostor = { keyFile: join(work, 'impostor_host_key'), publicKey: '', fingerprint: '' };

before(async () => {
  mkdirSync(second.files.dir, { recursive: true });
  impostor.publicKey = (await sshKeygen(impostor.keyFile, 'impostor')).split(/\s+/).slice(0, 2).join(' ');
  impostor.fingerprint = await fingerprint(`${impostor.keyFile}.pub`);
  await startSecondSshd(impostor.keyFile);
});

after(async () => {
  await stopSecondSshd();
});

async function startSecondSshd(hostKeyFile: string): Promise<void> {
  const files = { ...second.files, hostKeyFile };
  writeSshdConfig(files, n1.address, join(t.dir, 'authorized_keys'));
  // DEBUG1 logs every userauth request, so the absence of one in the log means none arrived.
  const config = readFileSync(files.configFile, 'utf8')
    .replace(/^Port 22$/m, `Port ${second.port}`)
    .replace(/^LogLevel .*$/m, 'LogLevel DEBUG1');
  writeFileSync(files.configFile, config);
  second.pid = await startSshdIn(n1.namespace, files);
}

async function stopSecondSshd(): Promise<void> {
  const pid = second.pid;
  if (pid === 0) return;
  signal(pid, 'SIGTERM');
  await waitFor('the second sshd to exit', () => !isAlive(pid), 5_000);
  second.pid = 0;
}

function spec(n: TopologyNode, extra: Partial<NodeSpec> = {}): NodeSpec {
  return {
    name: n.name,
    address: n.address,
    aliases: [],
    sshPort: 22,
    kubeletPort: t.ports.kubelet,
    podCIDRs: [n.podCIDR],
    hostKeyFingerprints: [],
    labels: {},
    ...extra,
  };
}

interface Run {
  pool: TunnelPool;
  log: LogEntry[];
  status: (name?: string) => TunnelStatus;
}

/** A pool over `nodes`, given to `fn` once every tunnel has had its first attempt (READY or failed). */
async function withPool(options: Partial<TunnelPoolOptions>, nodes: NodeSpec[], fn: (r: Run) => Promise<void> | void): Promise<void> {
  const { logger, entries } = captureLogger();
  const pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, logger, ...options });
  try {
    pool.setNodes(nodes);
    await settled(pool);
    await tick(); // let the logger deliver
    const status = (name = 'n1'): TunnelStatus => {
      const s = pool.status().find((x) => x.node === name);
      assert.ok(s, `no tunnel for ${name}`);
      return s;
    };
    await fn({ pool, log: entries, status });
  } finally {
    await pool.close();
  }
}

async function settled(pool: TunnelPool): Promise<void> {
  const done = (): boolean => pool.status().every((s) => s.state === 'READY' || s.state === 'TRANSIENT_FAILURE');
  if (done()) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tunnels did not settle: ${JSON.stringify(pool.status())}`)), 15_000);
    const check = (): void => {
      if (!done()) return;
      clearTimeout(timer);
      pool.off('stateChange', check);
      resolve();
    };
    pool.on('stateChange', check);
  });
}

/** Resolves with the outcome of the tunnel's next connection attempt (reconnect() first fails the old one). */
function nextAttempt(pool: TunnelPool, name: string): Promise<void> {
  return new Promise((resolve) => {
    let connecting = false;
    const check = (c: { node: string; to: string }): void => {
      if (c.node !== name) return;
      if (c.to === 'CONNECTING') connecting = true;
      else if (connecting && (c.to === 'READY' || c.to === 'TRANSIENT_FAILURE')) {
        pool.off('stateChange', check);
        resolve();
      }
    };
    pool.on('stateChange', check);
  });
}

const logSize = (file: string): number => (existsSync(file) ? statSync(file).size : 0);
const logSince = (file: string, offset: number): string => readFileSync(file).subarray(offset).toString('utf8');
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const mismatchText = (expected: string, actual: string): RegExp => new RegExp(`expected ${escape(expected)}, got ${escape(actual)}`);
const AUTH_LINE = /userauth|publickey|Accepted|Failed|Postponed|Authentication/i;

test('a man in the middle is refused before authentication; both fingerprints in status and the error log', async () => {
  const knownHostsFile = join(work, 'known_hosts.mitm');
  writeFileSync(knownHostsFile, `[${n1.address}]:${second.port} ${n1.hostPublicKey}\n`);
  const offset = logSize(second.files.logFile);
  await withPool({ knownHostsFile }, [spec(n1, { sshPort: second.port })], async ({ log, status }) => {
    const s = status();
    assert.equal(s.state, 'TRANSIENT_FAILURE');
    assert.equal(s.lastError?.code, 'ERR_HOST_KEY_MISMATCH');
    assert.match(s.lastError!.message, mismatchText(n1.hostKeyFingerprint, impostor.fingerprint));
    const failed = log.find((e) => e.message === 'tunnel failed');
    assert.equal(failed?.level, 'error');
    assert.equal(failed?.node, 'n1');
    assert.match(String(failed?.error), mismatchText(n1.hostKeyFingerprint, impostor.fingerprint));
  });
  // The impostor saw our connection end inside key exchange: we never sent NEWKEYS, so nothing encrypted
  // (no userauth request, no key offered) ever left us. sshd logs: Received disconnect ...:3: [preauth].
  const port = /Connection from 198\.18\.0\.1 port (\d+)/.exec(logSince(second.files.logFile, offset))?.[1];
  assert.ok(port, 'our connection reached the impostor');
  const closed = new RegExp(`(Disconnected from|Connection closed by) 198\\.18\\.0\\.1 port ${port} \\[preauth\\]`);
  await waitFor('the impostor to log the pre-auth close', () => closed.test(logSince(second.files.logFile, offset)));
  const seen = logSince(second.files.logFile, offset);
  assert.doesNotMatch(seen, AUTH_LINE, seen);
  assert.doesNotMatch(seen, /SSH2_MSG_NEWKEYS received/, seen);

  // Control: the same check sees authentication when the key is trusted, so its silence above means something.
  writeFileSync(knownHostsFile, `[${n1.address}]:${second.port} ${impostor.publicKey}\n`);
  const controlOffset = logSize(second.files.logFile);
  await withPool({ knownHostsFile }, [spec(n1, { sshPort: second.port })], ({ status }) => {
    assert.equal(status().state, 'READY');
    assert.equal(status().hostKeyFingerprint, impostor.fingerprint);
  });
  const control = logSince(second.files.logFile, controlOffset);
  for (const line of [/SSH2_MSG_NEWKEYS received/, /userauth-request for user root/, /Accepted publickey for root from 198\.18\.0\.1/]) {
    assert.match(control, line);
  }
});

test('known_hosts hashed by ssh-keygen -H works', async () => {
  const hashed = join(work, 'known_hosts.hashed');
  copyFileSync(t.knownHostsFile, hashed);
  await run('ssh-keygen', ['-H', '-f', hashed]);
  const text = readFileSync(hashed, 'utf8');
  for (const n of t.nodes) assert.ok(!text.includes(n.address) && !text.includes(`${n.name} `), 'no plain names left');
  assert.ok(text.split('\n').filter(Boolean).every((l) => l.startsWith('|1|')));
  await withPool({ knownHostsFile: hashed }, await loadInventory(t.inventoryFile), ({ status }) => {
    for (const n of t.nodes) {
      assert.equal(status(n.name).state, 'READY', JSON.stringify(status(n.name).lastError));
      assert.equal(status(n.name).hostKeyFingerprint, n.hostKeyFingerprint);
    }
  });
});

test('an @revoked key is refused even though a normal line trusts it', async () => {
  const n2 = nodeOf(t, 'n2');
  const knownHostsFile = join(work, 'known_hosts.revoked');
  writeFileSync(
    knownHostsFile,
    `@revoked * ${n1.hostPublicKey}\n${n1.name},${n1.address} ${n1.hostPublicKey}\n${n2.name},${n2.address} ${n2.hostPublicKey}\n`,
  );
  await withPool({ knownHostsFile }, [spec(n1), spec(n2)], ({ status }) => {
    assert.equal(status('n1').lastError?.code, 'ERR_HOST_KEY_REVOKED');
    assert.ok(status('n1').lastError?.message.includes(n1.hostKeyFingerprint));
    assert.equal(status('n2').state, 'READY', 'the other node is unaffected');
  });
});

test('pinned fingerprints in the inventory, without known_hosts: right pins READY, a wrong pin is a mismatch', async () => {
  const pinned = t.nodes.map((n) => spec(n, { hostKeyFingerprints: [n.hostKeyFingerprint] }));
  await withPool({}, pinned, ({ status }) => {
    for (const n of t.nodes) assert.equal(status(n.name).state, 'READY', JSON.stringify(status(n.name).lastError));
  });
  const n2 = nodeOf(t, 'n2');
  await withPool({}, [spec(n1, { hostKeyFingerprints: [n2.hostKeyFingerprint] })], ({ status }) => {
    assert.equal(status().lastError?.code, 'ERR_HOST_KEY_MISMATCH');
    assert.match(status().lastError!.message, mismatchText(n2.hostKeyFingerprint, n1.hostKeyFingerprint));
  });
});

test('trust on first use records each key once (file 0600, logged) and then enforces it', async () => {
  const trustOnFirstUseFile = join(work, 'tofu_known_hosts');
  assert.ok(!existsSync(trustOnFirstUseFile));
  await withPool({ trustOnFirstUseFile }, await loadInventory(t.inventoryFile), async ({ log, status }) => {
    for (const n of t.nodes) assert.equal(status(n.name).state, 'READY', JSON.stringify(status(n.name).lastError));
    assert.equal(statSync(trustOnFirstUseFile).mode & 0o777, 0o600);
    const lines = readFileSync(trustOnFirstUseFile, 'utf8').split('\n').filter(Boolean).sort();
    assert.deepEqual(lines, t.nodes.map((n) => `${n.name},${n.address} ${n.hostPublicKey}`).sort());
    for (const n of t.nodes) {
      // OpenSSH's own lookup finds the key under the node's address, with the right fingerprint.
      assert.match(await run('ssh-keygen', ['-l', '-F', n.address, '-f', trustOnFirstUseFile]), new RegExp(escape(n.hostKeyFingerprint)));
    }
    const added = log.filter((e) => /recorded a new host key/.test(e.message));
    assert.deepEqual(added.map((e) => [e.level, e.node, e.fingerprint]).sort(), t.nodes.map((n) => ['warn', n.name, n.hostKeyFingerprint]).sort());
  });

  // [n1's address]:2222 is a host of its own: first use records the key the second sshd presents...
  const at2222 = [spec(n1, { sshPort: second.port })];
  await withPool({ trustOnFirstUseFile }, at2222, async ({ pool, status }) => {
    assert.equal(status().state, 'READY');
    assert.equal(status().hostKeyFingerprint, impostor.fingerprint);
    assert.match(readFileSync(trustOnFirstUseFile, 'utf8'), new RegExp(`^\\[n1\\]:${second.port},\\[${escape(n1.address)}\\]:${second.port} ${escape(impostor.publicKey)}$`, 'm'));
    // ...and when that host's key changes, this pool refuses it on its next connection.
    await stopSecondSshd();
    try {
      await startSecondSshd(sshdFiles(dirname(n1.sshdConfigFile)).hostKeyFile); // now n1's real key
      const outcome = nextAttempt(pool, 'n1');
      pool.reconnect('n1');
      await outcome;
      assert.equal(status().lastError?.code, 'ERR_HOST_KEY_MISMATCH');
      assert.match(status().lastError!.message, mismatchText(impostor.fingerprint, n1.hostKeyFingerprint));
      // So does a new pool reading the same file.
      await withPool({ trustOnFirstUseFile }, at2222, (fresh) => {
        assert.equal(fresh.status().lastError?.code, 'ERR_HOST_KEY_MISMATCH');
      });
    } finally {
      await stopSecondSshd();
      await startSecondSshd(impostor.keyFile);
    }
  });
  assert.equal(readFileSync(trustOnFirstUseFile, 'utf8').split('\n').filter(Boolean).length, t.nodes.length + 1, 'nothing recorded twice');
});

test('a private key readable by others (0644) is refused before any connection is attempted', async () => {
  const identityFile = join(work, 'id_ed25519_0644');
  copyFileSync(t.identityFile, identityFile);
  chmodSync(identityFile, 0o644);
  const offsets = t.nodes.map((n) => logSize(n.sshdLogFile));
  await withPool({ identityFile, knownHostsFile: t.knownHostsFile }, await loadInventory(t.inventoryFile), ({ status }) => {
    for (const n of t.nodes) {
      const s = status(n.name);
      assert.equal(s.lastError?.code, 'ERR_KEY');
      assert.ok(s.lastError?.message.includes(identityFile), 'names the file');
      assert.match(s.lastError!.message, /permissions 0644 .* are too open/);
    }
  });
  t.nodes.forEach((n, i) => assert.doesNotMatch(logSince(n.sshdLogFile, offsets[i]!), /Connection from/, `${n.name}'s sshd saw no connection`));
});
