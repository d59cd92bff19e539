import net from 'node:net';
const server = net.createServer({ allowHalfOpen: true }, (s) => {
  s.on('data', () => undefined);
  s.on('end', () => {
    setTimeout(() => { s.write(Buffer.alloc(100, 1), () => { console.error('RESET NOW'); s.resetAndDestroy(); }); }, 20);
  });
  s.on('error', (e) => console.error('server err', e));
});
await new Promise<void>((r) => server.listen(18295, '127.0.0.1', r));
const r = await new Promise<string>((resolve) => {
  const c = net.connect(18295, '127.0.0.1');
  let err: any; let got = 0;
  c.on('data', (d: Buffer) => (got += d.length));
  c.on('error', (e: any) => (err = e));
  c.on('close', () => resolve(err ? `error ${err.code}` : `clean got=${got}`));
  c.on('connect', () => c.end('hello'));
});
console.error(r);
server.close();
