// 9. OpenSSH through a ProxyCommand: `ssh node true` with the stream carried by `ssh-egress dial` through a
// running daemon, by `ssh-egress dial` with tunnels of its own, by `ssh -W` through a ControlMaster, by a new
// `ssh -W` connection each time, and with no ProxyCommand at all (the floor). The commands run round-robin, so
// a machine whose speed drifts during the run affects them all alike.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { buildCli, CLI } from './lib/build-cli.js';
import type { Benchmark } from './lib/context.js';
import { startDaemonSocket } from './lib/daemon-socket.js';
import { track } from './lib/proc.js';
import { fmt, ratio, verdict } from './lib/report.js';
import { sshArgs, sshControlMaster, USER } from './lib/sshd.js';
import { figure } from './lib/stats.js';

/** Issue 16's question: is asking the daemon as cheap as OpenSSH's own multiplexing? */
const VS_CONTROL_MASTER_BOUND = 1.5;

export const proxyCommand: Benchmark = {
  name: 'proxycommand',
  async run(env, options, log) {
    const runs = Math.max(10, options.runs);
    buildCli('proxycommand');
    const node = env.nodes[0]!;
    const running = await startDaemonSocket(env.keys, node, 'proxy');
    const socket = running.socket;
    const inventory = path.join(running.dir, 'nodes.yaml');
    writeFileSync(inventory, YAML.stringify({ nodes: [node.spec] }));
    const master = await sshControlMaster(env.keys, node);
    const cli = `${quote(process.execPath)} ${quote(path.resolve(CLI))}`;
    const ssh = (extra: string[]): string => ['ssh', ...sshArgs(env.keys, node, extra)].map(quote).join(' ');
    // The inner ssh's target is the node itself; each ProxyCommand carries it its own way.
    const variants: Array<{ name: string; proxy: string | undefined }> = [
      { name: 'no ProxyCommand (direct)', proxy: undefined },
      { name: 'ssh-egress dial --connect-socket (daemon)', proxy: `${cli} dial --connect-socket ${quote(socket)} %h:%p` },
      { name: 'ssh -W through a ControlMaster', proxy: ssh([...master.args, '-W', '%h:%p']) },
      { name: 'new ssh -W per connection', proxy: ssh(['-W', '%h:%p']) },
      {
        name: 'ssh-egress dial, its own tunnel',
        proxy: `${cli} dial --inventory ${quote(inventory)} -l ${USER} -i ${quote(env.keys.identityFile)} --known-hosts ${quote(env.keys.knownHostsFile)} %h:%p`,
      },
    ];
    const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    try {
      for (const v of variants) await timeSsh(env, node, v.proxy); // warm-up: file cache and sshd
      for (let run = 0; run < runs; run++) {
        log(`   round ${run + 1}/${runs}`);
        for (const v of variants) samples.get(v.name)!.push(await timeSsh(env, node, v.proxy));
      }
    } finally {
      await master.close();
      await running.close();
    }
    const med = (name: string): number => figure(samples.get(name)!).median;
    const direct = med(variants[0]!.name);
    const controlMaster = med('ssh -W through a ControlMaster');
    const daemon = med('ssh-egress dial --connect-socket (daemon)');
    const rows = variants.map((v) => [v.name, fmt(figure(samples.get(v.name)!), 1), ratio(med(v.name), direct), ratio(med(v.name), controlMaster)]);
    return {
      title: '9. OpenSSH ProxyCommand',
      method:
        `Wall time of \`ssh -o ProxyCommand=... ${USER}@n1 true\` (a whole SSH login that runs \`true\`), ${runs} rounds after one warm-up, ` +
        'the variants in turn within each round. The daemon variant asks an HTTP CONNECT front end on a Unix socket whose pool already ' +
        'holds the tunnel to n1 (the built CLI, node dist/bin/ssh-egress.js); "its own tunnel" makes a fresh SSH connection per login, as ' +
        '`ssh -W` does.',
      tables: [{ head: ['ProxyCommand', 'wall ms, median (min–max)', 'vs direct', 'vs ControlMaster'], rows }],
      notes: [
        `ssh-egress through the daemon: ${ratio(daemon, controlMaster)} a ControlMaster's time (target <= ${VS_CONTROL_MASTER_BOUND}x): ${verdict(daemon / controlMaster <= VS_CONTROL_MASTER_BOUND)}`,
      ],
    };
  },
};

/** Milliseconds for one `ssh ... true` login, through `proxy` when given. */
function timeSsh(env: Parameters<Benchmark['run']>[0], node: Parameters<typeof sshArgs>[1], proxy: string | undefined): Promise<number> {
  const args = [...sshArgs(env.keys, node, proxy === undefined ? [] : ['-o', `ProxyCommand=${proxy}`]), 'true'];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = track(spawn('ssh', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`ssh through ${proxy ?? 'nothing'}: exit ${code}: ${stderr}`))));
  });
}

/** One word for the shell that runs a ProxyCommand. */
function quote(word: string): string {
  return /^[\w@%:./=,+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
