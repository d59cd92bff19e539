import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFailure, parseRequest } from '../../src/frontends/socks5-protocol.js';
import { SOCKS5_GREETING, encodeConnectRequest, parseConnectReply, parseMethodSelection } from '../../src/ssh/socks5-client.js';

describe('SOCKS5 client messages', () => {
  it('offers "no authentication" only', () => {
    assert.deepEqual([...SOCKS5_GREETING], [5, 1, 0]);
  });

  it('encodes CONNECT for IPv4, IPv6 (bracketed or not) and names, as the daemon side parses them', () => {
    const cases: Array<[string, number, string, number]> = [
      ['198.19.1.7', 8080, '198.19.1.7', 0x01],
      ['fd00::1', 443, 'fd00::1', 0x04],
      ['[fd00::2]', 10250, 'fd00::2', 0x04],
      ['kubelet.node-1.example', 10250, 'kubelet.node-1.example', 0x03],
    ];
    for (const [host, port, parsedHost, atyp] of cases) {
      const parsed = parseRequest(encodeConnectRequest(host, port));
      assert.ok(parsed !== undefined && !isFailure(parsed));
      assert.deepEqual(parsed.value, { host: parsedHost, port, atyp });
    }
  });

  it('refuses names SOCKS5 cannot carry and ports outside 1-65535', () => {
    assert.throws(() => encodeConnectRequest('a'.repeat(256), 80), RangeError);
    assert.throws(() => encodeConnectRequest('', 80), RangeError);
    assert.throws(() => encodeConnectRequest('198.19.1.7', 0), RangeError);
    assert.throws(() => encodeConnectRequest('198.19.1.7', 65536), RangeError);
  });

  it('parses the method selection and replies as the bytes arrive', () => {
    assert.equal(parseMethodSelection(Buffer.from([5])), undefined);
    assert.deepEqual(parseMethodSelection(Buffer.from([5, 0, 9])), { value: 0, consumed: 2 });
    assert.ok(parseMethodSelection(Buffer.from('H')) && 'notSocks' in parseMethodSelection(Buffer.from('H'))!);
    const ipv4 = Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal(parseConnectReply(ipv4.subarray(0, 9)), undefined);
    assert.deepEqual(parseConnectReply(Buffer.concat([ipv4, Buffer.from('first bytes')])), { value: 0, consumed: 10 });
    assert.deepEqual(parseConnectReply(Buffer.from([5, 5, 0, 3, 3, 0x61, 0x62, 0x63, 0, 80])), { value: 5, consumed: 10 });
    assert.deepEqual(parseConnectReply(Buffer.from([5, 4, 0, 4, ...new Array(18).fill(0)])), { value: 4, consumed: 22 });
    assert.ok('notSocks' in parseConnectReply(Buffer.from([5, 0, 0, 9, 0]))!);
    assert.ok('notSocks' in parseConnectReply(Buffer.from('HTTP/1.1 400'))!);
  });
});
