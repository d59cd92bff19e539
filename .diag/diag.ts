import { randomBytes } from 'node:crypto';
import { Dialer, TunnelPool, loadInventory } from '../src/index.js';
import { isAlive, namespacePids, processName, signal } from '../test/system/netns.js';
import { loadTopology, sshdPid } from '../test/system/topology.js';
const t = loadTopology();
const node = t.nodes[0]!;
const pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile, healthCheck: { kind: 'ssh' }, backoff: { initialDelayMs: 20, maxDelayMs: 100 } });
pool.setNodes(await loadInventory(t.inventoryFile));
await pool.ready({ timeoutMs: 10000 });
const dialer = new Dialer(pool, {});
const tally: Record<string, number> = {};
const count = (k: string) => (tally[k] = (tally[k] ?? 0) + 1);
const until = Date.now() + Number(process.env.DIAG_MS ?? 60000);
async function worker() {
  while (Date.now() < until) {
    const size = 1000 + Math.floor(Math.random() * 200000);
    const payload = randomBytes(size);
    let s;
    try { s = await dialer.dial(`${node.address}:7`, { timeoutMs: 3000, allowHalfOpen: true }); } catch (e) { count('dial ' + (e as any).code); await new Promise(r => setTimeout(r, 5)); continue; }
    const got: Buffer[] = [];
    let err: any;
    const ended = await new Promise<string>((resolve) => {
      s.on('data', (c: Buffer) => got.push(c));
      s.on('error', (e) => { err = e; });
      s.on('end', () => resolve('end'));
      s.on('close', () => resolve('close'));
      s.end(payload);
    });
    const all = Buffer.concat(got);
    if (err) count('error ' + err.code);
    else if (all.length === size && all.equals(payload)) count('intact');
    else { count(`CLEAN-SHORT via ${ended}`); console.log('clean short', all.length, size, new Date().toISOString()); }
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
await pool.close();
