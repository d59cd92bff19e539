// SendPacer: a connection's channels share a budget of unacknowledged data, and none can starve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendPacer, pacingFloor } from '../../src/ssh/send-pacer.js';

const KiB = 1024;
const WINDOW = 2048 * KiB; // what OpenSSH's sshd grants a direct-tcpip channel
const FLOOR = 128 * KiB;

/** A channel as ssh2 keeps it: sending lowers the window, the node's acknowledgement raises it. */
function channel() {
  const ch = { outgoing: { window: WINDOW } };
  return {
    ch,
    send: (bytes: number) => () => (ch.outgoing.window -= bytes),
    ack: (bytes: number) => (ch.outgoing.window += bytes),
  };
}

test('under budget a write goes at once and what it sent counts', () => {
  const pacer = new SendPacer(1024 * KiB);
  const a = channel();
  const credit = pacer.track(a.ch, FLOOR);
  let wrote = 0;
  pacer.whenAllowed(credit, () => {
    a.send(64 * KiB)();
    wrote += 1;
  });
  assert.equal(wrote, 1);
  assert.equal(pacer.inFlight, 64 * KiB);
});

test('over budget a busy channel waits for acknowledgements, in order, while a quiet one still goes', () => {
  const pacer = new SendPacer(512 * KiB);
  const [a, b, quiet] = [channel(), channel(), channel()];
  const [ca, cb, cq] = [pacer.track(a.ch, FLOOR), pacer.track(b.ch, FLOOR), pacer.track(quiet.ch, FLOOR)];
  for (let i = 0; i < 4; i++) pacer.whenAllowed(ca, a.send(128 * KiB)); // a fills the budget alone
  assert.equal(pacer.inFlight, 512 * KiB);

  const order: string[] = [];
  pacer.whenAllowed(ca, () => order.push('a'));
  b.send(FLOOR)(); // b already has its floor in flight (counted at its next write)
  pacer.whenAllowed(cb, () => order.push('b'));
  assert.deepEqual(order, [], 'both wait: the connection is at its budget and each has its floor in flight');

  pacer.whenAllowed(cq, quiet.send(1));
  assert.equal(pacer.inFlight, 512 * KiB + FLOOR + 1, 'a dial\'s first bytes never wait behind uploads');

  a.ack(512 * KiB);
  pacer.refresh();
  assert.deepEqual(order, ['a', 'b'], 'acknowledged data frees the budget; waiters go in the order they came');
});

test('no channel waits for an acknowledgement that cannot come: below the floor it always goes', () => {
  const pacer = new SendPacer(64 * KiB);
  const channels = Array.from({ length: 8 }, () => channel());
  const credits = channels.map((c) => pacer.track(c.ch, FLOOR));
  // Eight channels with 100 KiB each: far over budget, but each below the floor the node acknowledges at.
  credits.forEach((credit, i) => pacer.whenAllowed(credit, channels[i]!.send(100 * KiB)));
  let went = 0;
  credits.forEach((credit) => pacer.whenAllowed(credit, () => (went += 1)));
  assert.equal(went, 8);
});

test('a floor at the whole window leaves a channel unpaced (servers whose rule is unknown)', () => {
  const pacer = new SendPacer(64 * KiB);
  const a = channel();
  const credit = pacer.track(a.ch, WINDOW);
  let went = 0;
  for (let i = 0; i < 16; i++) pacer.whenAllowed(credit, () => (a.send(64 * KiB)(), (went += 1)));
  assert.equal(went, 16);
});

test('a closed channel stops counting and its waiting writer goes on; releaseAll frees every writer', () => {
  const pacer = new SendPacer(256 * KiB);
  const [a, b] = [channel(), channel()];
  const [ca, cb] = [pacer.track(a.ch, FLOOR), pacer.track(b.ch, FLOOR)];
  pacer.whenAllowed(ca, a.send(256 * KiB));
  pacer.whenAllowed(cb, b.send(FLOOR));
  const went: string[] = [];
  pacer.whenAllowed(ca, () => went.push('a'));
  pacer.whenAllowed(cb, () => went.push('b'));
  assert.deepEqual(went, []);
  pacer.forget(ca);
  assert.deepEqual(went, ['a']);
  assert.equal(pacer.inFlight, FLOOR);
  pacer.releaseAll();
  assert.deepEqual(went, ['a', 'b']);
});

test('only OpenSSH servers are paced: four of their packets always draw an acknowledgement', () => {
  const channel = { outgoing: { window: WINDOW, packetSize: 32 * KiB } };
  assert.equal(pacingFloor('OpenSSH_9.2p1 Debian-2+deb12u10', channel), 128 * KiB);
  assert.equal(pacingFloor('OpenSSH_9.2p1', { outgoing: { window: 64 * KiB, packetSize: 32 * KiB } }), 64 * KiB, 'never above the window');
  for (const other of ['dropbear_2022.83', 'ssh2js1.17.0', undefined]) assert.equal(pacingFloor(other, channel), WINDOW, String(other));
  assert.equal(pacingFloor('OpenSSH_9.2p1', { outgoing: { window: WINDOW } }), WINDOW, 'no packet size known: not paced');
});

test("room is the budget left, or the channel's own floor when that is more", () => {
  const pacer = new SendPacer(512 * KiB);
  const [a, b] = [channel(), channel()];
  const [ca, cb] = [pacer.track(a.ch, FLOOR), pacer.track(b.ch, FLOOR)];
  assert.equal(pacer.room(ca), 512 * KiB);
  pacer.whenAllowed(ca, a.send(448 * KiB));
  assert.equal(pacer.room(cb), FLOOR, 'b has sent nothing: its floor is more than the 64 KiB left');
  pacer.whenAllowed(cb, b.send(96 * KiB));
  assert.equal(pacer.room(cb), 32 * KiB, 'over budget: what is left of b\'s floor');
  assert.ok(pacer.room(ca) <= 0, 'a is over budget and past its floor');
});
