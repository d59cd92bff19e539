// Proves the system-test topology with the real OpenSSH client, from inside the control-plane namespace:
// tunnels reach pods, ClusterIPs and the kubelet; direct routes do not exist; host keys are enforced.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { sshPipe, sshStream } from './ssh-client.js';
import { killSshd, loadTopology, nodeExec, sshdPid, startSshd } from './topology.js';

const t = loadTopology();
const { echo, podHttp, kubelet } = t.ports;

/** One HTTP/1.1 request through `ssh -W`; the server closes (Connection: close), so ssh exits. */
async function httpViaSsh(nodeIdx: number, target: string, method: string, path: string, body = Buffer.alloc(0)) {
  const head = `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`;
  const r = await sshPipe(t, t.nodes[nodeIdx]!, target, Buffer.concat([Buffer.from(head), body]));
  assert.equal(r.code, 0, r.stderr);
  const text = r.stdout.toString('utf8');
  assert.match(text, /^HTTP\/1\.1 200 /);
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

test('the runner is inside the control-plane namespace', () => {
  const addrs = Object.values(networkInterfaces()).flat().map((i) => i?.address);
  assert.ok(addrs.includes(t.cpAddress), `expected ${t.cpAddress} among ${addrs.join(', ')}`);
});

describe('ssh -W through every node', () => {
  for (const [i, node] of t.nodes.entries()) {
    test(`${node.name}: echo on each pod IP and the ClusterIP round-trips`, async () => {
      await Promise.all(
        [...node.podIPs, t.clusterIP].map(async (ip) => {
          const payload = randomBytes(256 * 1024);
          const r = await sshPipe(t, node, `${ip}:${echo}`, payload);
          assert.equal(r.code, 0, r.stderr);
          assert.ok(r.stdout.equals(payload), `echo via ${node.name} to ${ip} returned ${r.stdout.length} bytes`);
        }),
      );
    });

    test(`${node.name}: pod HTTP answers as that node and address`, async () => {
      const ip = node.podIPs[1]!;
      const who = JSON.parse(await httpViaSsh(i, `${ip}:${podHttp}`, 'GET', '/whoami'));
      assert.deepEqual(who, { node: node.name, addr: ip, port: podHttp });
    });
  }

  test('ClusterIP HTTP is served by whichever node tunnels it', async () => {
    const who = JSON.parse(await httpViaSsh(1, `${t.clusterIP}:${podHttp}`, 'GET', '/whoami'));
    assert.deepEqual(who, { node: t.nodes[1]!.name, addr: t.clusterIP, port: podHttp });
  });

  test('POST /sha256 hashes a 4 MiB body streamed through the tunnel', async () => {
    const body = randomBytes(4 * 1024 * 1024);
    const hex = await httpViaSsh(0, `${t.nodes[0]!.podIPs[0]}:${podHttp}`, 'POST', '/sha256', body);
    assert.equal(hex, createHash('sha256').update(body).digest('hex'));
  });

  test('kubelet TLS verifies against the test CA (name and IP SANs) through the tunnel', async () => {
    const node = t.nodes[0]!;
    const { stream, child, done } = sshStream(t, node, `${node.address}:${kubelet}`);
    const socket = tls.connect({
      socket: stream,
      ca: readFileSync(t.kubeletCaFile),
      servername: node.name,
      checkServerIdentity: (host, cert) => tls.checkServerIdentity(host, cert) ?? tls.checkServerIdentity(node.address, cert),
    });
    socket.end(`GET /whoami HTTP/1.1\r\nHost: ${node.name}\r\nConnection: close\r\n\r\n`);
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    child.stdin.end();
    assert.equal((await done).code, 0);
    const text = Buffer.concat(chunks).toString('utf8');
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.deepEqual(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)), { node: node.name, addr: node.address, port: kubelet });
  });
});

describe('isolation', () => {
  test('the control plane has no route to pod IPs', async () => {
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const s = net.connect({ host: t.nodes[0]!.podIPs[0]!, port: podHttp, timeout: 2000 });
      s.on('connect', () => (s.destroy(), resolve(undefined)));
      s.on('timeout', () => (s.destroy(), resolve(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }))));
      s.on('error', resolve);
    });
    assert.ok(err, 'direct connect to a pod IP must fail');
    assert.match(err.code ?? '', /ENETUNREACH|EHOSTUNREACH/);
  });

  test('the control plane reaches node port 22 directly', async () => {
    await new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: t.nodes[0]!.address, port: t.ports.ssh }, () => (s.destroy(), resolve()));
      s.on('error', reject);
    });
  });

  test('nodes have no default route', async () => {
    const r = await nodeExec(t, t.nodes[0]!, ['ip', 'route', 'show', 'default']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '');
  });
});

describe('host keys and sshd faults', () => {
  test('a wrong known_hosts entry is refused', async () => {
    const [n1, n2] = [t.nodes[0]!, t.nodes[1]!];
    const wrong = join(t.dir, 'known_hosts.wrong');
    writeFileSync(wrong, `${n1.name},${n1.address} ${n2.hostPublicKey}\n`); // n2's key claimed for n1
    const r = await sshPipe(t, n1, `${n1.podIPs[0]}:${echo}`, 'x', { knownHostsFile: wrong });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  test('killSshd / startSshd: down refuses, restart serves with the same host key', async () => {
    const node = t.nodes[2]!;
    const before = sshdPid(t, node);
    assert.ok(before, 'sshd runs');
    await killSshd(t, node, 'SIGTERM');
    assert.equal(sshdPid(t, node), undefined);
    const down = await sshPipe(t, node, `${node.podIPs[0]}:${echo}`, 'x');
    assert.equal(down.code, 255);
    assert.match(down.stderr, /Connection refused/);
    const after = await startSshd(t, node);
    assert.notEqual(after, before);
    assert.equal(sshdPid(t, node), after);
    const up = await sshPipe(t, node, `${node.podIPs[0]}:${echo}`, 'back');
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout.toString(), 'back');
  });
});
