import net from 'node:net';
import { Dialer, TunnelPool, loadInventory } from '../src/index.js';
import { splice } from '../src/daemon/splice.js';
import { namespacePids, processName, signal } from '../test/system/netns.js';
import { loadTopology, sshdPid } from '../test/system/topology.js';
import { runStream } from '../test/soak/soak-streams.js';
const t = loadTopology();
const node = t.nodes[0]!;
const pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile, healthCheck: { kind: 'ssh' }, backoff: { initialDelayMs: 20, maxDelayMs: 100 } });
pool.setNodes(await loadInventory(t.inventoryFile));
await pool.ready({ timeoutMs: 10000 });
const dialer = new Dialer(pool, {});
const logs = new Map<number, string[]>();
const byPort = new Map<number, string[]>();
let nextId = 0;
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const id = nextId++;
  const log: string[] = [];
  logs.set(id, log);
  byPort.set(client.remotePort!, log);
  const at = () => performance.now().toFixed(1);
  client.once('data', async (chunk) => {
    const target = /CONNECT (\S+)/.exec(chunk.toString())![1]!;
    client.pause();
    let tunnel;
    try { tunnel = await dialer.dial(target, { allowHalfOpen: true, timeoutMs: 3000 }); } catch (e) { client.end(`HTTP/1.1 503 x\r\n\r\n${(e as any).code}`); return; }
    const ch = (tunnel as any).channel;
    for (const ev of ['end', 'finish', 'close', 'error']) tunnel.on(ev, (e?: any) => log.push(`${at()} tunnel ${ev} ${e?.code ?? ''} ${e?.message ?? ''}`));
    for (const ev of ['end', 'finish', 'close', 'error']) ch.on(ev, (e?: any) => log.push(`${at()} channel ${ev} ${e?.message ?? ''}`));
    for (const ev of ['end', 'finish', 'close', 'error']) client.on(ev, (e?: any) => log.push(`${at()} client ${ev} ${e?.code ?? ''} read=${client.bytesRead} written=${client.bytesWritten} tunnelRead=${tunnel.bytesRead} tunnelWritten=${tunnel.bytesWritten}`));
    const origReset = client.resetAndDestroy.bind(client);
    (client as any).resetAndDestroy = () => { log.push(`${at()} resetAndDestroy() handle=${!!(client as any)._handle} wl=${client.writableLength} ended=${client.writableEnded}`); return origReset(); };
    const origDestroy = client.destroy.bind(client);
    (client as any).destroy = (e?: any) => { log.push(`${at()} destroy(${e?.code ?? ''}) resetAndClosing=${(client as any).resetAndClosing}\n${new Error().stack!.split('\n').slice(2, 6).join('\n')}`); return origDestroy(e); };
    const origEnd = client.end.bind(client);
    (client as any).end = (...a: any[]) => { log.push(`${at()} client.end() called\n${new Error().stack!.split('\n').slice(2, 9).join('\n')}`); return origEnd(...a); };
    client.write('HTTP/1.1 200 Connection established\r\n\r\n');
    void splice(client, tunnel);
  });
});
await new Promise<void>((r) => server.listen(18298, '127.0.0.1', r));
const tally: Record<string, number> = {};
const count = (k: string) => (tally[k] = (tally[k] ?? 0) + 1);
const until = Date.now() + Number(process.env.DIAG_MS ?? 60000);
let shown = 0;
async function worker() {
  while (Date.now() < until) {
    const size = 1000 + Math.floor(Math.random() * 200000);
    const payload = Buffer.alloc(size, 7);
    const r = await new Promise<string>((resolve) => {
      const c = net.connect(18298, '127.0.0.1');
      const ev: string[] = [];
      const at = () => performance.now().toFixed(1);
      let err: any; let got = 0; let head = '';
      let established = false; let port = 0;
      c.on('data', (d: Buffer) => {
        if (!established) { head += d.toString('latin1'); if (head.includes('\r\n\r\n')) { if (!head.startsWith('HTTP/1.1 200')) { c.destroy(); return resolve('refused'); } established = true; got += head.length - head.indexOf('\r\n\r\n') - 4; ev.push(`${at()} established`); c.end(payload); } return; }
        got += d.length;
      });
      c.on('error', (e: any) => { err = e; ev.push(`${at()} error ${e.code} ${e.syscall}`); });
      c.on('end', () => ev.push(`${at()} end got=${got}`));
      c.on('finish', () => ev.push(`${at()} finish`));
      c.on('close', () => {
        ev.push(`${at()} close`);
        if (!established) return resolve('refused');
        if (err) return resolve('error ' + err.code);
        if (got === size) return resolve('intact');
        setTimeout(() => console.log(`CLEAN SHORT got=${got} size=${size} port=${port}\nclient:\n${ev.join('\n')}\nserver:\n${(byPort.get(port) ?? []).join('\n')}`), 200);
        resolve('CLEAN SHORT');
      });
      c.on('connect', () => { port = c.localPort!; ev.push(`${at()} connect`); c.write(`CONNECT ${node.address}:7 HTTP/1.1\r\n\r\n`); });
    });
    count(r);
  }
}
// Find the server-side log of clean-short streams: match by looking for streams whose client got 'client.end() called' and later tunnel error.
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
server.close();
await pool.close();
