import { Dialer, TunnelPool, loadInventory } from '../src/index.js';
import { HttpConnectFrontend } from '../src/daemon/http-connect-server.js';
import { silentLogger } from '../src/log.js';
import { namespacePids, processName, signal } from '../test/system/netns.js';
import { loadTopology, sshdPid } from '../test/system/topology.js';
import { runStream } from '../test/soak/soak-streams.js';
const t = loadTopology();
const node = t.nodes[0]!;
const pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile, healthCheck: { kind: 'ssh' }, backoff: { initialDelayMs: 20, maxDelayMs: 100 } });
pool.setNodes(await loadInventory(t.inventoryFile));
await pool.ready({ timeoutMs: 10000 });
const dialer = new Dialer(pool, {});
const fe = new HttpConnectFrontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 18299 }, { logger: silentLogger(), dialTimeoutMs: 3000 });
await fe.listen();
const tally: Record<string, number> = {};
const count = (k: string) => (tally[k] = (tally[k] ?? 0) + 1);
const until = Date.now() + Number(process.env.DIAG_MS ?? 60000);
async function worker() {
  while (Date.now() < until) {
    const size = 1000 + Math.floor(Math.random() * 200000);
    const o = await runStream({ host: '127.0.0.1', port: 18299 }, { kind: 'echo', target: `${node.address}:7`, size }, 20000);
    const k = o.result === 'failed' ? o.reason : o.result;
    count(k);
    if (k.includes('clean end')) console.log('CLEAN SHORT', new Date().toISOString());
  }
}
async function chaos() {
  while (Date.now() < until) {
    await new Promise(r => setTimeout(r, 300 + Math.random() * 700));
    const listener = sshdPid(t, node);
    const pids = (await namespacePids(node.namespace)).filter(p => p !== listener && processName(p)?.startsWith('sshd'));
    for (const p of pids) signal(p, 'SIGKILL');
    count('kills');
  }
}
await Promise.all([...Array.from({ length: 8 }, worker), chaos()]);
console.log(tally);
await fe.close();
await pool.close();
