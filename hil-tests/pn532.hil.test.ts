// Hardware-in-the-loop: the real PN532 driver against a real PN532 on the Pi's UART (HSU, 115200 8N1).
//   GDO_HIL_PN532_PORT=/dev/serial0 npm run test:hil                      # init, polls, health checks
//   ... GDO_HIL_PN532_CARD=1                                              # also: present and remove a card
//   ... GDO_HIL_PN532_RSTPDN=4                                            # also: reset pulse on BCM 4
// Skips, saying why, when the port is not configured or does not exist. UIDs are never printed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Pn532 } from '../drivers/pn532/pn532.ts';
import { Pn532Poller } from '../drivers/pn532/poller.ts';
import { openRstpdn, rstpdnPulse } from '../drivers/pn532/rstpdn.ts';
import { SerialPortTransport } from '../drivers/serial/serialport-transport.ts';

const port = process.env['GDO_HIL_PN532_PORT'];
const withCard = process.env['GDO_HIL_PN532_CARD'] === '1';
const rstpdn = process.env['GDO_HIL_PN532_RSTPDN'];
const skip = port === undefined
  ? 'skipped: set GDO_HIL_PN532_PORT to the UART the PN532 is on (e.g. /dev/serial0, /dev/ttyAMA0, /dev/ttyUSB0)'
  : !existsSync(port)
    ? `skipped: GDO_HIL_PN532_PORT=${port} does not exist (no reader attached, or enable_uart=1 missing in config.txt)`
    : false;

/** A real-world ACK timeout: the chip answers within 15 ms (§6.2.2); USB adapters add a few ms. */
const CORE = { ackTimeoutMs: 100, responseTimeoutMs: 1_000 };

async function withCore(body: (pn532: Pn532) => Promise<void>): Promise<void> {
  const transport = new SerialPortTransport({ path: port! });
  await transport.open();
  try {
    await body(new Pn532({ transport, ...CORE }));
  } finally {
    await transport.close();
  }
}

const waitUntil = async (check: () => boolean, what: string, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`no ${what} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

void describe('HIL: PN532 on this Pi', { skip }, () => {
  void it('initialises (wake-up, SAMConfiguration with retry, MaxRetries) and reports a PN532', async () => {
    await withCore(async (pn532) => {
      const fw = await pn532.init();
      console.log(`# PN532 IC 0x${fw.ic.toString(16)}, firmware ${fw.ver}.${fw.rev}, support 0x${fw.support.toString(16)}`);
      assert.equal(fw.ic, 0x32, 'IC byte of a PN532');
      assert.equal(fw.support & 0x01, 0x01, 'ISO/IEC 14443 type A supported');
    });
  });

  void it('polls without blocking (MaxRetries) and answers health checks, 25 of each', async () => {
    await withCore(async (pn532) => {
      await pn532.init();
      for (let i = 0; i < 25; i++) {
        const targets = await pn532.inListPassiveTarget(); // a card in the field is fine too
        if (targets.length) await pn532.inRelease();
        assert.equal((await pn532.getFirmwareVersion()).ic, 0x32);
      }
      assert.equal(pn532.stats.ackTimeouts + pn532.stats.responseTimeouts, 0, 'no timeouts on a healthy link');
      assert.equal(pn532.stats.badFrames, 0, 'no corrupted frames on a healthy link');
    });
  });

  void it('the poller gets ready and keeps polling without errors for three seconds', async () => {
    const poller = new Pn532Poller({ transport: new SerialPortTransport({ path: port! }), pn532: CORE });
    try {
      poller.start();
      await waitUntil(() => poller.status().state === 'ready', 'ready state', 10_000);
      const before = poller.status().counters.polls;
      await new Promise((r) => setTimeout(r, 3_000));
      const s = poller.status();
      console.log(`# ${s.counters.polls - before} polls in 3 s, counters ${JSON.stringify(s.counters)}`);
      assert.equal(s.state, 'ready');
      assert.ok(s.counters.polls - before >= 5);
      assert.equal(s.counters.pollErrors, 0);
    } finally {
      await poller.stop();
    }
  });

  void it('sees a card presented by the operator, once, and its removal (GDO_HIL_PN532_CARD=1)', {
    skip: withCard ? false : 'skipped: set GDO_HIL_PN532_CARD=1 and have a card at hand',
  }, async () => {
    const poller = new Pn532Poller({ transport: new SerialPortTransport({ path: port! }), pn532: CORE });
    const cards: { uidLength: number; atqa: number; sak: number; ats: boolean }[] = [];
    const removed: string[] = [];
    poller.on('card', (e) => cards.push({ uidLength: e.uid.length, atqa: e.atqa, sak: e.sak, ats: e.ats !== undefined }));
    poller.on('card-removed', (e) => removed.push(e.reason));
    try {
      poller.start();
      await waitUntil(() => poller.status().state === 'ready', 'ready state', 10_000);
      console.log('# present a card to the reader and keep it there for 3 s');
      await waitUntil(() => cards.length > 0, 'card', 30_000);
      await new Promise((r) => setTimeout(r, 3_000));
      console.log(`# card: ${JSON.stringify(cards[0])}; now take it away`);
      assert.equal(cards.length, 1, 'a card left on the reader is one presentation');
      assert.ok([4, 7, 10].includes(cards[0]!.uidLength));
      await waitUntil(() => removed.length > 0, 'card-removed', 30_000);
      assert.deepEqual(removed, ['removed']);
    } finally {
      await poller.stop();
    }
  });

  void it('an RSTPDN pulse resets the chip, and a fresh init brings it back (GDO_HIL_PN532_RSTPDN)', {
    skip: rstpdn === undefined ? 'skipped: set GDO_HIL_PN532_RSTPDN to the BCM line wired to RSTPDN (e.g. 4)' : false,
  }, async () => {
    const { OnoffGpioBackend } = await import('../drivers/gpio/onoff-backend.ts');
    const gpio = new OnoffGpioBackend();
    const line = openRstpdn(gpio, { line: Number(rstpdn) });
    try {
      await withCore(async (pn532) => {
        await pn532.init();
        await rstpdnPulse(line)();
        // Back in LowVbat after the reset: without the wake-up nothing answers; init sends it.
        assert.equal((await pn532.init()).ic, 0x32);
      });
    } finally {
      line.close(); // left high: the reader runs
      gpio.close();
    }
  });
});
