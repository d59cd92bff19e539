// `ssh-egress scan` against in-process fake nodes, and the hashed known_hosts lines it writes, checked with
// our own reader and with OpenSSH's ssh-keygen -F.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { fingerprintOf } from '../../src/hostkeys/fingerprint.js';
import { formatHashedKnownHostsLines, hashKnownHostName, KnownHosts } from '../../src/hostkeys/known-hosts.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const blob = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIGVkMjU1MTkga2V5IGZvciB0ZXN0cyBvbmx5ICEhIQ==', 'base64');
let cluster: SimulatedCluster;
let inventoryFile: string;

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 3 });
  await cluster.node('n3').stop();
  inventoryFile = join(cluster.identityFile, '..', 'inventory.yaml');
  writeFileSync(inventoryFile, YAML.stringify({ nodes: cluster.nodes }));
});

after(async () => {
  await cluster?.stop();
});

function scan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'scan', '--inventory', inventoryFile, ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The simulator's own known_hosts line for a node: "[127.0.1.k]:port ssh-ed25519 AAAA...". */
function simulatorKey(name: string): string {
  const line = readFileSync(cluster.knownHostsFile, 'utf8').split('\n')[Number(name.slice(1)) - 1]!;
  return line.split(' ').slice(1).join(' ');
}

describe('hashed known_hosts lines', () => {
  it('one line per name, |1|salt|hash over the name as looked up at that port', () => {
    const lines = formatHashedKnownHostsLines(['n1', '198.18.0.11', 'N1'], 2222, blob);
    assert.equal(lines.length, 2, 'names are lowercased and deduplicated, as OpenSSH looks them up');
    for (const line of lines) assert.match(line, /^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 AAAA\S+$/);
    const known = KnownHosts.parse(lines.join('\n'));
    assert.equal(known.warnings.length, 0);
    assert.equal(known.lookup('n1', 2222).trusted.length, 1);
    assert.equal(known.lookup('198.18.0.11', 2222).trusted[0]?.fingerprint, fingerprintOf(blob));
    assert.equal(known.lookup('n1', 22).trusted.length, 0, 'the port is part of the hashed name');
  });

  it('HMAC-SHA1 of the name keyed by the salt (hostfile.c host_hash)', () => {
    const salt = Buffer.alloc(20, 7);
    // python3 -c "import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b'\x07'*20,b'[n1]:2222',hashlib.sha1).digest()))"
    assert.equal(hashKnownHostName('[n1]:2222', salt), '|1|BwcHBwcHBwcHBwcHBwcHBwcHBwc=|0sUat7uvV9VAC5vCOnBPtTGXx68=');
  });
});

describe('ssh-egress scan', () => {
  it('prints known_hosts lines on stdout, fingerprints on stderr, and names the node it could not reach (exit 1)', async () => {
    const r = await scan(['--timeout', '2000']);
    assert.equal(r.code, 1, r.stderr);
    const [n1, n2] = cluster.nodes;
    assert.equal(
      r.stdout,
      `[n1]:${n1!.sshPort},[127.0.1.1]:${n1!.sshPort} ${simulatorKey('n1')}\n[n2]:${n2!.sshPort},[127.0.1.2]:${n2!.sshPort} ${simulatorKey('n2')}\n`,
    );
    const fp1 = fingerprintOf(Buffer.from(simulatorKey('n1').split(' ')[1]!, 'base64'));
    assert.match(r.stderr, new RegExp(`^# ${fp1.replace(/[+/]/g, '\\$&')} n1 \\(ssh-ed25519\\)$`, 'm'));
    assert.match(r.stderr, /^ssh-egress scan: n3: connection refused \(127\.0\.1\.3:\d+\)$/m);
  });

  it('--hash writes lines OpenSSH finds with ssh-keygen -F, and no name in clear', async () => {
    const r = await scan(['--hash', 'n1', 'n2']);
    assert.equal(r.code, 0, r.stderr);
    // Every host field is a hash; a name in clear would show as anything else (the base64 may contain "n1").
    for (const line of r.stdout.trim().split('\n')) assert.match(line, /^\|1\|[A-Za-z0-9+/]+=*\|[A-Za-z0-9+/]+=* ssh-/);
    const file = join(cluster.identityFile, '..', 'known_hosts.scanned');
    writeFileSync(file, r.stdout);
    const port = cluster.nodes[0]!.sshPort;
    for (const name of ['n1', '127.0.1.1']) {
      const found = execFileSync('ssh-keygen', ['-F', `[${name}]:${port}`, '-f', file], { encoding: 'utf8' });
      assert.ok(found.includes(simulatorKey('n1')), found);
    }
  });

  it('a key type the node lacks is skipped quietly; none at all is a failure', async () => {
    const r = await scan(['-t', 'rsa', 'n1']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^ssh-egress scan: n1: offered none of the key types asked for$/m);
  });

  it('usage errors exit 2: an unknown node or key type', async () => {
    assert.equal((await scan(['n9'])).code, 2);
    const bad = await scan(['-t', 'dsa']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--type: "dsa" is not one of ed25519, ecdsa, rsa/);
  });
});
