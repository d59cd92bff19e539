import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConnectHead } from '../../src/frontends/http-connect-request.js';
import { CONNECTION_ESTABLISHED, errorResponse } from '../../src/frontends/http-connect-response.js';

const parse = (text: string, max = 8192) => parseConnectHead(Buffer.from(text, 'latin1'), max);
const APISERVER = 'CONNECT 198.19.1.7:8080 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

test("kube-apiserver's exact request parses; the target comes from the request line, not Host", () => {
  assert.deepEqual(parse(APISERVER), { kind: 'connect', target: '198.19.1.7:8080', headBytes: APISERVER.length });
});

test('bytes after the head are not part of it', () => {
  const head = parse(`${APISERVER}SSH-2.0-early\r\n`);
  assert.equal(head.kind, 'connect');
  assert.equal(head.kind === 'connect' && head.headBytes, APISERVER.length);
});

test('a head arriving in pieces is incomplete until its empty line', () => {
  for (let i = 0; i < APISERVER.length; i++) assert.deepEqual(parse(APISERVER.slice(0, i)), { kind: 'incomplete' }, `at ${i}`);
});

test('bare LF line ends, IPv6 literals, names and other headers are accepted', () => {
  assert.equal(parse('CONNECT n1:10250 HTTP/1.1\n\n').kind, 'connect');
  const curl = 'CONNECT [fd00::7]:443 HTTP/1.0\r\nUser-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n';
  assert.deepEqual(parse(curl), { kind: 'connect', target: '[fd00::7]:443', headBytes: curl.length });
});

test('other methods get 405 as soon as the request line is complete', () => {
  assert.deepEqual(parse('GET / HTTP/1.1\r\n'), { kind: 'rejected', status: 405, reason: 'method GET not allowed: this is an HTTP CONNECT proxy (with curl: -p/--proxytunnel)', method: 'GET' });
});

test('malformed request lines, targets and header lines get 400', () => {
  for (const text of [
    'CONNECT 198.19.1.7:8080\r\n\r\n',
    'CONNECT  198.19.1.7:8080 HTTP/1.1\r\n\r\n',
    'CONNECT 198.19.1.7:8080 HTTP/2.0\r\n\r\n',
    'CONNECT 198.19.1.7 HTTP/1.1\r\n\r\n',
    'CONNECT 198.19.1.7:0 HTTP/1.1\r\n\r\n',
    'CONNECT 198.19.1.7:70000 HTTP/1.1\r\n\r\n',
    'CONNECT http://198.19.1.7:80/ HTTP/1.1\r\n\r\n',
    'CONNECT user@198.19.1.7:80 HTTP/1.1\r\n\r\n',
    'CONNECT 198.19.1.7:80 HTTP/1.1\r\nno colon here\r\n\r\n',
    'CONNECT 198.19.1.7:80 HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n',
    'CONNECT 198.19.1.7:80 HTTP/1.1\r\nBad Name: 1\r\n\r\n',
    'CONNECT 198.19.1.7:80 HTTP/1.1\r\nX-A: a\rb\r\n\r\n',
    'C\x00NNECT 198.19.1.7:80 HTTP/1.1\r\n\r\n',
  ]) {
    const head = parse(text);
    assert.equal(head.kind === 'rejected' && head.status, 400, JSON.stringify(text));
  }
});

test('bytes that cannot start a request (a TLS ClientHello) are refused before any line end', () => {
  const hello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]);
  assert.equal(parseConnectHead(hello, 8192).kind, 'rejected');
});

test('a head larger than the limit gets 431, with or without an end in sight', () => {
  const big = `CONNECT 198.19.1.7:80 HTTP/1.1\r\nX-Pad: ${'a'.repeat(200)}\r\n\r\n`;
  assert.equal(parse(big, 256).kind, 'connect');
  assert.deepEqual(parse(big, 100), { kind: 'rejected', status: 431, reason: 'request header too large', method: 'CONNECT' });
  assert.equal(parse(`CONNECT 198.19.1.7:80 HTTP/1.1\r\nX-Pad: ${'a'.repeat(300)}`, 256).kind, 'rejected');
  assert.equal(parse(`CONNECT ${'a'.repeat(300)}`, 256).kind, 'rejected');
});

test('responses: the 200 is the bare status line; refusals carry a one-line reason and close', () => {
  assert.equal(CONNECTION_ESTABLISHED.toString(), 'HTTP/1.1 200 Connection established\r\n\r\n');
  assert.equal(
    errorResponse(405, 'only CONNECT', { Allow: 'CONNECT' }).toString(),
    'HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\nAllow: CONNECT\r\nConnection: close\r\n\r\nonly CONNECT\n',
  );
  assert.match(errorResponse(502, 'a\r\nInjected: yes').toString(), /\r\n\r\na Injected: yes\n$/);
});
