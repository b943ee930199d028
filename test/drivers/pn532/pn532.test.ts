// The protocol core against the simulator behind serialport's MockBinding: the bytes on the wire,
// the host dialog (ACK, NACK, stale replies, timeouts) and typed errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pn532, type Pn532Options } from '../../../drivers/pn532/pn532.ts';
import { Pn532Simulator, type Pn532SimulatorOptions } from '../../../drivers/pn532/simulator.ts';
import { MockSerialBench } from '../../../drivers/serial/mock-bench.ts';
import { SerialPortTransport } from '../../../drivers/serial/serialport-transport.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
let next = 0;

async function rig(simOptions: Pn532SimulatorOptions = {}, options: Partial<Pn532Options> = {}) {
  const bench = new MockSerialBench();
  const path = `/dev/mock-pn532-core-${process.pid}-${next++}`;
  const sim = new Pn532Simulator(simOptions);
  const wire: Buffer[] = [];
  bench.connect(path, {
    receive: (b) => {
      wire.push(b);
      sim.receive(b);
    },
    onOutput: (l) => sim.onOutput(l),
    cancelOutput: () => sim.cancelOutput(),
  });
  const transport = new SerialPortTransport({ path, binding: bench.binding });
  await transport.open();
  const pn532 = new Pn532({ ackTimeoutMs: 300, responseTimeoutMs: 600, ...options, transport });
  const done = async (): Promise<void> => {
    sim.cancelOutput();
    await transport.close();
  };
  return { bench, path, sim, wire, transport, pn532, done };
}

void test('init sends the HSU wake-up, SAMConfiguration, GetFirmwareVersion and MaxRetries frames', async () => {
  const r = await rig();
  try {
    assert.deepEqual(await r.pn532.init(), { ic: 0x32, ver: 1, rev: 6, support: 7 });
    const sent = Buffer.concat(r.wire);
    const expected = Buffer.concat([
      hex('55 55 00 00 00 00 00 00 00 00 00 00 00 00 00 00'),
      hex('00 00 FF 03 FD D4 14 01 17 00'),
      hex('00 00 FF 02 FE D4 02 2A 00'),
      hex('00 00 FF 06 FA D4 32 05 FF 01 01 F4 00'),
    ]);
    assert.deepEqual(sent, expected);
  } finally {
    await r.done();
  }
});

void test('the first SAMConfiguration after wake-up is lost: it is retried', async () => {
  const r = await rig({ loseFirstSamAfterWake: true });
  try {
    await r.pn532.init();
    assert.equal(r.sim.stats.commands[0x14], 2);
    assert.equal(r.pn532.stats.ackTimeouts, 1);
  } finally {
    await r.done();
  }
});

void test('InListPassiveTarget with and without a card; InDataExchange status handling', async () => {
  const r = await rig({ onDataExchange: (apdu) => Buffer.concat([apdu.subarray(0, 1), hex('91 00')]) });
  try {
    await r.pn532.init();
    assert.deepEqual(await r.pn532.inListPassiveTarget(), []);
    await assert.rejects(r.pn532.inDataExchange(1, hex('5A')), {
      name: 'Pn532Error', code: 'PN532_STATUS', status: 0x27, message: /InDataExchange: status 0x27 \(command not acceptable/,
    });
    r.sim.present({ uid: hex('04 11 22 33 44 55 66'), ats: hex('06 75 77 81 02 80') });
    const [target] = await r.pn532.inListPassiveTarget();
    assert.deepEqual(target, { tg: 1, atqa: 0x0044, sak: 0x20, uid: hex('04 11 22 33 44 55 66'), ats: hex('06 75 77 81 02 80') });
    assert.deepEqual(await r.pn532.inDataExchange(1, hex('5A 00 00 01')), { data: hex('5A 91 00'), moreInformation: false });
    await r.pn532.inRelease();
    await assert.rejects(r.pn532.inDataExchange(1, hex('5A')), { code: 'PN532_STATUS' });
  } finally {
    await r.done();
  }
});

void test('InDataExchange: a reply longer than a normal frame arrives as an extended frame; MI and status errors', async () => {
  const big = Buffer.alloc(262);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const replies: Array<Buffer | { status: number; data: Buffer }> = [big, { status: 0x40, data: hex('AF 01') }, { status: 0x01, data: Buffer.alloc(0) }];
  const r = await rig({ onDataExchange: () => replies.shift()! });
  try {
    await r.pn532.init();
    r.sim.present({ uid: hex('04 11 22 33 44 55 66'), ats: hex('06 75 77 81 02 80') });
    await r.pn532.inListPassiveTarget();
    const first = await r.pn532.inDataExchange(1, hex('90 AF 00 00 00'));
    assert.deepEqual(first, { data: big, moreInformation: false }, '262 data bytes: TFI + 41 + status + 262 = 265, the extended maximum');
    assert.deepEqual(await r.pn532.inDataExchange(1, hex('AF')), { data: hex('AF 01'), moreInformation: true });
    await assert.rejects(r.pn532.inDataExchange(1, hex('AF')), { code: 'PN532_STATUS', status: 0x01, message: /status 0x01 \(target did not answer/ });
  } finally {
    await r.done();
  }
});

void test('SAMConfiguration gives up after samAttempts with a timeout naming the command', async () => {
  const r = await rig({}, { samAttempts: 2, sendAttempts: 1, ackTimeoutMs: 50 });
  try {
    await r.pn532.wakeUp();
    r.sim.injectFault({ kind: 'no-reply' }, 3, 0x14);
    await assert.rejects(r.pn532.samConfiguration(), { code: 'PN532_TIMEOUT', message: /SAMConfiguration \(0x14\): no ACK within 50 ms after 1 sends/ });
    assert.equal(r.sim.stats.commands[0x14], 2);
    await r.pn532.samConfiguration(); // the third lost frame costs one retry, the next attempt works
    assert.equal(r.sim.stats.commands[0x14], 4);
  } finally {
    await r.done();
  }
});

void test('without MaxRetries the chip would block: the response timeout fires and the host ACK aborts', async () => {
  const r = await rig();
  try {
    await r.pn532.wakeUp();
    await r.pn532.samConfiguration();
    await assert.rejects(r.pn532.inListPassiveTarget(), {
      code: 'PN532_TIMEOUT', message: /InListPassiveTarget \(0x4A\): ACK received but no response \(code 0x4B\) within 600 ms/,
    });
    assert.equal(r.sim.stats.acksFromHost, 1);
  } finally {
    await r.done();
  }
});

void test('typed errors: no ACK, NACK only, application error, corrupted replies', async () => {
  const r = await rig({}, { sendAttempts: 2, nackRetries: 1 });
  try {
    await r.pn532.init();
    r.sim.injectFault({ kind: 'no-reply' }, 2);
    await assert.rejects(r.pn532.getFirmwareVersion(), { code: 'PN532_TIMEOUT', message: /GetFirmwareVersion \(0x02\): no ACK within 300 ms after 2 sends/ });
    r.sim.injectFault({ kind: 'nack' }, 2);
    await assert.rejects(r.pn532.getFirmwareVersion(), { code: 'PN532_NACK', message: /answered NACK to all 2 sends/ });
    r.sim.injectFault({ kind: 'app-error' });
    await assert.rejects(r.pn532.getFirmwareVersion(), { code: 'PN532_APP_ERROR', message: /application error frame/ });
    // One corrupted reply: the host NACK brings the good copy.
    r.sim.injectFault({ kind: 'bad-checksum' });
    assert.equal((await r.pn532.getFirmwareVersion()).ic, 0x32);
    assert.equal(r.sim.stats.nacksFromHost, 1);
    // Every copy is corrupted: a bad frame error that names the checksum.
    r.sim.injectFault({ kind: 'bad-checksum', resend: 'bad' });
    await assert.rejects(r.pn532.getFirmwareVersion(), { code: 'PN532_BAD_FRAME', message: /GetFirmwareVersion \(0x02\): 2 reply frame\(s\) failed their checksum/ });
    assert.equal((await r.pn532.getFirmwareVersion()).ver, 1);
  } finally {
    await r.done();
  }
});

void test('stale replies before the ACK and with another response code are discarded', async () => {
  const r = await rig();
  try {
    await r.pn532.init();
    r.sim.present({ uid: hex('01 02 03 04') });
    await r.pn532.inListPassiveTarget();
    r.sim.present({ uid: hex('0A 0B 0C 0D') });
    r.sim.injectFault({ kind: 'stale' });
    const [target] = await r.pn532.inListPassiveTarget();
    assert.deepEqual(target?.uid, hex('0A 0B 0C 0D'));
    assert.equal(r.pn532.stats.staleFrames, 2);
  } finally {
    await r.done();
  }
});

void test('garbage and replies split into single bytes', async () => {
  const r = await rig();
  try {
    await r.pn532.init();
    r.sim.present({ uid: hex('01 02 03 04 05 06 07 08 09 0A') });
    r.sim.injectFault({ kind: 'garbage' });
    assert.equal((await r.pn532.inListPassiveTarget()).length, 1);
    r.sim.injectFault({ kind: 'split', chunkSize: 1 });
    assert.deepEqual((await r.pn532.inListPassiveTarget())[0]?.uid, hex('01 02 03 04 05 06 07 08 09 0A'));
  } finally {
    await r.done();
  }
});

void test('an unplugged port fails the pending command with PN532_DISCONNECTED', async () => {
  const r = await rig();
  try {
    await r.pn532.init();
    r.sim.injectFault({ kind: 'no-response' });
    const pending = r.pn532.getFirmwareVersion();
    setTimeout(() => r.bench.unplug(r.path), 20);
    await assert.rejects(pending, { code: 'PN532_DISCONNECTED' });
    await assert.rejects(r.pn532.getFirmwareVersion(), { code: 'PN532_DISCONNECTED', message: /not open/ });
  } finally {
    await r.done();
  }
});
