import net from 'node:net';
import { randomBytes } from 'node:crypto';
const mode = process.argv[2] ?? 'same-tick';
const server = net.createServer({ allowHalfOpen: true }, (s) => {
  s.on('data', () => undefined);
  s.on('end', () => {
    setTimeout(() => {
      s.write(Buffer.alloc(32768, 1));
      if (mode === 'same-tick') s.resetAndDestroy();
      else if (mode === 'after-cb') { s.write(Buffer.alloc(10, 2), () => s.resetAndDestroy()); }
      else if (mode === 'after-cb-imm') { s.write(Buffer.alloc(10, 2), () => setImmediate(() => s.resetAndDestroy())); }
      else if (mode === 'immediate') setImmediate(() => s.resetAndDestroy());
      else setTimeout(() => s.resetAndDestroy(), 1);
    }, 2);
  });
  s.on('error', () => undefined);
});
await new Promise<void>((r) => server.listen(18296, '127.0.0.1', r));
const tally: Record<string, number> = {};
for (let i = 0; i < 2000; i++) {
  const size = 1000 + Math.floor(Math.random() * 200000);
  const r = await new Promise<string>((resolve) => {
    const c = net.connect(18296, '127.0.0.1');
    let err: any; let got = 0;
    c.on('data', (d: Buffer) => (got += d.length));
    c.on('error', (e: any) => (err = e));
    c.on('close', () => resolve(err ? `error ${err.code}` : `clean got=${got}`));
    c.on('connect', () => c.end(randomBytes(size)));
  });
  tally[r] = (tally[r] ?? 0) + 1;
}
console.log(mode, tally);
server.close();
