// Keys made by `ssh-egress keygen` against real sshd, and the destination policy from inside the
// control-plane namespace: refused destinations cause no connection attempt and no DNS lookup at all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChannelOpenError, Dialer, NoRouteError, PolicyDeniedError, TunnelPool, loadInventory, type NodeSpec, type TunnelPoolOptions } from '../../src/index.js';
import { loadTopology, nodeExec, type TopologyNode } from './topology.js';

const t = loadTopology();
const authorizedKeys = join(t.dir, 'authorized_keys');
const keyDir = join(t.dir, `keygen-${process.pid}`);
let originalAuthorizedKeys: string;
let nodes: NodeSpec[];

before(async () => {
  originalAuthorizedKeys = readFileSync(authorizedKeys, 'utf8');
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  nodes = await loadInventory(t.inventoryFile);
});

after(() => {
  // Every node shares this file: leave it as the other tests expect it.
  writeFileSync(authorizedKeys, originalAuthorizedKeys);
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const keygen = (args: string[], env?: NodeJS.ProcessEnv) =>
  run(['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'keygen', ...args], env);

/** Connects a one-node pool with this key; resolves with 'READY' or the code of the error that stopped it. */
async function tryKey(node: NodeSpec, key: Pick<TunnelPoolOptions, 'identityFile' | 'passphraseEnv'>): Promise<string> {
  const pool = new TunnelPool({ user: t.user, knownHostsFile: t.knownHostsFile, healthCheck: { kind: 'ssh' }, ...key });
  try {
    const settled = new Promise<string>((resolve) =>
      pool.on('stateChange', (c) => {
        if (c.to === 'READY') resolve('READY');
        if (c.to === 'TRANSIENT_FAILURE') resolve(pool.status()[0]?.lastError?.code ?? 'unknown');
      }),
    );
    pool.setNodes([node]);
    const outcome = await settled;
    if (outcome === 'READY') {
      // Prove the session works end to end: the kubelet port through this tunnel.
      const stream = await new Dialer(pool).dial({ kind: 'kubelet', node: node.name });
      assert.equal(stream.node, node.name);
      stream.destroy();
    }
    return outcome;
  } finally {
    await pool.close();
  }
}

function sshdLog(node: TopologyNode): string {
  return readFileSync(node.sshdLogFile, 'utf8');
}

describe('keys from `ssh-egress keygen` authenticate against real sshd once authorized', () => {
  const cases = [
    { type: 'ed25519', args: [], env: {}, passphraseEnv: undefined, logType: 'ED25519' },
    // RSA, encrypted, its passphrase handed over through the environment both times.
    { type: 'rsa', args: ['-b', '3072', '--passphrase-env', 'EGRESS_KEY_PASS'], env: { EGRESS_KEY_PASS: 'rsa key pass' }, passphraseEnv: 'EGRESS_KEY_PASS', logType: 'RSA' },
  ];
  for (const c of cases) {
    test(c.type, async () => {
      const file = join(keyDir, `id_${c.type}`);
      const made = await keygen(['-t', c.type, '-f', file, '-C', `keygen-${c.type}@system-test`, ...c.args], c.env);
      assert.equal(made.code, 0, made.stderr);
      const [line, info] = made.stdout.split('\n');
      const fingerprint = /^# \d+ (SHA256:\S+) /.exec(info ?? '')?.[1];
      assert.ok(fingerprint, info);
      assert.equal(`${line}\n`, readFileSync(`${file}.pub`, 'utf8'));

      const node = nodes[c.type === 'rsa' ? 1 : 0]!;
      const topoNode = t.nodes.find((n) => n.name === node.name)!;
      Object.assign(process.env, c.env);
      try {
        // Not yet authorized: sshd refuses it.
        assert.equal(await tryKey(node, { identityFile: file, passphraseEnv: c.passphraseEnv }), 'ERR_AUTH');
        // stdout is meant to be appended as it is: the fingerprint line is a # comment to sshd.
        writeFileSync(authorizedKeys, readFileSync(authorizedKeys, 'utf8') + made.stdout);
        const logMark = sshdLog(topoNode).length;
        assert.equal(await tryKey(node, { identityFile: file, passphraseEnv: c.passphraseEnv }), 'READY');
        // sshd accepted exactly this key, as the CLI fingerprinted it.
        const accepted = sshdLog(topoNode).slice(logMark);
        assert.match(accepted, new RegExp(`Accepted publickey for ${t.user} from \\S+ port \\d+ ssh2: ${c.logType} ${escape(fingerprint)}`));
        assert.doesNotMatch(accepted, /[Ee]rror.*authorized_keys/);
      } finally {
        for (const k of Object.keys(c.env)) delete process.env[k];
      }
    });
  }
});

test('a key restricted on the node as SECURITY.md advises still carries tunnels, and only to what it permits', async () => {
  const file = join(keyDir, 'id_restricted');
  const made = await keygen(['-f', file, '-C', 'restricted@system-test']);
  assert.equal(made.code, 0, made.stderr);
  const node = nodes[2]!;
  const topoNode = t.nodes.find((n) => n.name === node.name)!;
  const allowed = [`${node.address}:${t.ports.kubelet}`, `${topoNode.podIPs[0]}:${t.ports.echo}`];
  // Any host on the kubelet port, one pod address on the echo port.
  const permits = [`*:${t.ports.kubelet}`, allowed[1]].map((a) => `permitopen="${a}"`);
  const options = ['restrict', 'port-forwarding', ...permits, 'command="/bin/false"'].join(',');
  writeFileSync(authorizedKeys, `${readFileSync(authorizedKeys, 'utf8')}${options} ${made.stdout.split('\n')[0]}\n`);

  const pool = new TunnelPool({ user: t.user, identityFile: file, knownHostsFile: t.knownHostsFile, healthCheck: { kind: 'ssh' } });
  try {
    pool.setNodes([node]);
    await pool.ready({ timeoutMs: 15_000 });
    const dialer = new Dialer(pool, { serviceCIDRs: [t.serviceCIDR] });
    for (const target of allowed) (await dialer.dial(target)).destroy();
    // Allowed by our policy, but not by the node: sshd itself says no.
    for (const target of [`${node.address}:${t.ports.nodeHttp}`, `${topoNode.podIPs[1]}:${t.ports.echo}`]) {
      await assert.rejects(dialer.dial(target), (err: unknown) => {
        assert.ok(err instanceof ChannelOpenError, `${target}: ${String(err)}`);
        assert.equal(err.reason, 1); // administratively prohibited
        return true;
      });
    }
  } finally {
    await pool.close();
  }
  // And the key runs no commands.
  const ssh = await new Promise<number>((resolve) =>
    execFile('ssh', ['-F', '/dev/null', '-i', file, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${t.knownHostsFile}`,
      '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${t.user}@${node.address}`, 'echo ran'], (err, stdout) => {
      assert.doesNotMatch(stdout, /ran/);
      resolve(err ? Number(err.code) : 0);
    }),
  );
  assert.equal(ssh, 1, '/bin/false ran instead of the command');
});

/** Counters of this network namespace: a connect() or a DNS query would move them. */
function netCounters(snmp: string, snmp6 = ''): { tcpActiveOpens: number; udpOut: number; udp6Out: number } {
  const field = (proto: string, name: string): number => {
    const [head, values] = snmp.split('\n').filter((l) => l.startsWith(`${proto}:`));
    const i = head?.split(/\s+/).indexOf(name) ?? -1;
    return Number(values?.split(/\s+/)[i]);
  };
  const udp6 = /^Udp6OutDatagrams\s+(\d+)$/m.exec(snmp6)?.[1];
  return { tcpActiveOpens: field('Tcp', 'ActiveOpens'), udpOut: field('Udp', 'OutDatagrams'), udp6Out: Number(udp6 ?? 0) };
}

const ownCounters = () => netCounters(readFileSync('/proc/net/snmp', 'utf8'), readFileSync('/proc/net/snmp6', 'utf8'));

async function nodeCounters(node: TopologyNode) {
  const r = await nodeExec(t, node, ['cat', '/proc/net/snmp']);
  assert.equal(r.code, 0, r.stderr);
  return netCounters(r.stdout);
}

describe('destination policy', () => {
  test('destinations outside the cluster are refused before any connection or DNS lookup', async () => {
    const pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile, lazyConnect: true });
    try {
      pool.setNodes(nodes);
      const dialer = new Dialer(pool, { serviceCIDRs: [t.serviceCIDR] });
      const outside = [
        '192.0.2.1:443', // TEST-NET-1
        '8.8.8.8:53',
        '[2001:db8::1]:443',
        'example.com:443', // a name that is no node: never looked up
        '198.18.0.200:22', // inside the nodes' /16, but no node
        '198.19.9.9:8080', // inside 198.19/16, in no pod or service CIDR
      ];
      const before = ownCounters();
      for (const target of outside) {
        await assert.rejects(dialer.dial(target), (err: unknown) => {
          assert.ok(err instanceof NoRouteError, `${target}: ${String(err)}`);
          assert.equal(err.code, 'ERR_NO_ROUTE');
          return true;
        });
      }
      // The CLI refuses the same way, before it connects anything.
      const cli = await run(['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'dial', '--inventory', t.inventoryFile,
        '-l', t.user, '-i', t.identityFile, '--known-hosts', t.knownHostsFile, 'example.com:443']);
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /no route to example\.com:443: .*never through DNS/);
      assert.deepEqual(ownCounters(), before, 'no TCP connect and no UDP datagram left the control plane');
      assert.deepEqual(pool.status().map((s) => s.state), nodes.map(() => 'IDLE'), 'no tunnel was even opened');
      // The counters do see a dial the policy allows: it opens the node's tunnel.
      (await dialer.dial({ kind: 'kubelet', node: nodes[0]!.name })).destroy();
      assert.ok(ownCounters().tcpActiveOpens > before.tcpActiveOpens);
    } finally {
      await pool.close();
    }
  });

  test('node ports outside policy.nodePorts are refused; nothing reaches the node', async () => {
    const pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile, healthCheck: { kind: 'ssh' } });
    try {
      pool.setNodes(nodes);
      await pool.ready({ timeoutMs: 15_000 });
      const dialer = new Dialer(pool, { serviceCIDRs: [t.serviceCIDR], policy: { nodePorts: [t.ports.nodeHttp] } });
      const node = t.nodes[0]!;
      const before = await nodeCounters(node);
      for (const target of [`${node.address}:22`, `${node.name}:${t.ports.echo}`, `${node.address}:${t.ports.podHttp}`]) {
        await assert.rejects(dialer.dial(target), (err: unknown) => {
          assert.ok(err instanceof PolicyDeniedError, `${target}: ${String(err)}`);
          assert.equal(err.code, 'ERR_POLICY_DENIED');
          assert.equal(err.node, node.name);
          assert.equal(err.message, `policy denies ${target}: node ports allowed are ${t.ports.nodeHttp}, ${t.ports.kubelet} (kubelet)`);
          return true;
        });
      }
      assert.deepEqual(await nodeCounters(node), before, 'sshd on the node opened no connection for them');

      // What the policy allows still works: the listed port, the kubelet, and pods on any port.
      const who = await getJson(dialer, `http://${node.name}:${t.ports.nodeHttp}/whoami`);
      assert.equal(who.node, node.name);
      const kubelet = await dialer.dial({ kind: 'kubelet', node: node.name });
      kubelet.destroy();
      const pod = await dialer.dial(`${node.podIPs[0]}:${t.ports.echo}`);
      pod.destroy();
      assert.ok((await nodeCounters(node)).tcpActiveOpens >= before.tcpActiveOpens + 3, 'the allowed dials did reach the node');
    } finally {
      await pool.close();
    }
  });
});

function getJson(dialer: Dialer, url: string): Promise<{ node: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: dialer.httpAgent({ keepAlive: false }) }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(JSON.parse(body) as { node: string }));
      })
      .on('error', reject);
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
