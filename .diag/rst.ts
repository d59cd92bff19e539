import net from 'node:net';
import { randomBytes } from 'node:crypto';
const server = net.createServer({ allowHalfOpen: true }, (s) => {
  let n = 0;
  s.on('data', (c: Buffer) => {
    n += c.length;
    s.write(c.subarray(0, Math.floor(c.length / 2)));
  });
  s.on('end', () => {
    setTimeout(() => s.resetAndDestroy(), Math.random() < 0.5 ? 0 : Math.random() * 3);
  });
  s.on('error', () => undefined);
});
await new Promise<void>((r) => server.listen(18297, '127.0.0.1', r));
const tally: Record<string, number> = {};
for (let i = 0; i < 3000; i++) {
  const size = 1000 + Math.floor(Math.random() * 200000);
  const r = await new Promise<string>((resolve) => {
    const c = net.connect(18297, '127.0.0.1');
    let err: any; let got = 0;
    c.on('data', (d: Buffer) => (got += d.length));
    c.on('error', (e: any) => (err = e));
    c.on('close', () => resolve(err ? `error ${err.code}` : `clean got<size=${got < size}`));
    c.on('connect', () => c.end(randomBytes(size)));
  });
  tally[r] = (tally[r] ?? 0) + 1;
}
console.log(tally);
server.close();
