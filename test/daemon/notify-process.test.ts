// The agent and systemd: READY=1 once the reader and the door are up, WATCHDOG=1 only while the reader,
// the ledger and the event loop are healthy, STATUS= telling why not, STOPPING=1 on SIGTERM; all received
// on a test $NOTIFY_SOCKET, with the sender PID systemd would check.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { doorConfig, simReader, spawnAgent, tempDir, waitFor, writeJson, type SimReader } from './helpers.ts';

const RECEIVER = new URL('./fixtures/notify-receiver.py', import.meta.url).pathname;

interface Note { msg: string; pid: number | null }

function startReceiver(path: string): { proc: ChildProcess; notes: Note[]; listening: Promise<void> } {
  const proc = spawn('python3', [RECEIVER, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const notes: Note[] = [];
  let partial = '';
  let ready: () => void = () => undefined;
  const listening = new Promise<void>((r) => { ready = r; });
  proc.stdout!.on('data', (c: Buffer) => {
    partial += c.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const v = JSON.parse(line) as Note & { listening?: string };
      if (v.listening) ready(); else notes.push(v);
    }
  });
  return { proc, notes, listening };
}

/** CAP_SYS_ADMIN in our effective set: systemd-notify can then name the agent as the sender. */
function canImpersonate(): boolean {
  const m = /^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m !== null && (BigInt(`0x${m[1]}`) & (1n << 21n)) !== 0n;
}

let reader: SimReader;
const t = tempDir();
before(async () => { reader = await simReader(); });
after(async () => { await reader.dispose(); t.dispose(); });

it('tells systemd it is ready, pings the watchdog only while healthy, and says it is stopping', async () => {
  assert.equal(spawnSync('systemd-notify', ['--help'], { stdio: 'ignore' }).status, 0, 'systemd-notify (package systemd) is needed');
  const sock = join(t.dir, 'notify.sock');
  const rx = startReceiver(sock);
  await rx.listening;
  const dir = join(t.dir, 'node');
  const config = writeJson(`${dir}.json`, doorConfig(dir, reader.path));
  // WATCHDOG_USEC 400 ms: a ping every 200 ms.
  const agent = spawnAgent(config, { env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '400000' } });
  const has = (re: RegExp, from = 0): number => rx.notes.findIndex((n, i) => i >= from && re.test(n.msg));
  try {
    await waitFor(() => has(/^READY=1\nSTATUS=ready: 1 door, 0 machines, 1 reader$/) >= 0, 'READY=1');
    await waitFor(() => rx.notes.filter((n) => n.msg === 'WATCHDOG=1').length >= 3, 'three watchdog pings');
    const pid = agent.proc.pid!;
    for (const n of rx.notes) {
      assert.notEqual(n.pid, null, 'the kernel attached credentials');
      if (canImpersonate()) assert.equal(n.pid, pid, 'sent on behalf of the agent: NotifyAccess=main accepts it');
    }

    await reader.unplug();
    await waitFor(() => has(/^STATUS=degraded: reader main disconnected/) >= 0, 'STATUS=degraded naming the reader');
    const health = await agent.get('/health');
    assert.equal(health.status, 503);
    assert.match(health.text, /reader main disconnected/);
    const door = (await agent.get('/status')).json() as { doors: { faults: string[] }[] };
    assert.deepEqual(door.doors[0]!.faults, ['reader'], 'the door knows its reader is gone (and stays locked)');
    const skipped = async (): Promise<number> => Number(/^gdo_watchdog_skipped_total (\d+)$/m.exec((await agent.get('/metrics')).text)?.[1]);
    const before = await skipped();
    let now = before;
    for (let i = 0; i < 150 && now < before + 3; i++) { await new Promise((r) => setTimeout(r, 100)); now = await skipped(); }
    assert.ok(now >= before + 3, `three watchdog rounds skipped while the reader is gone, got ${now - before}`);

    await reader.replug();
    const degradedAt = has(/^STATUS=degraded/);
    await waitFor(() => has(/^STATUS=ready/, degradedAt) >= 0, 'STATUS=ready after the reader came back', 30_000);
    const readyAgain = has(/^STATUS=ready/, degradedAt);
    await waitFor(() => has(/^WATCHDOG=1$/, readyAgain) >= 0, 'pings again');
    const between = rx.notes.slice(degradedAt, readyAgain).filter((n) => n.msg === 'WATCHDOG=1');
    assert.deepEqual(between, [], 'no WATCHDOG=1 while the reader was gone');

    const exit = await agent.stop('SIGTERM');
    assert.equal(exit.code, 0);
    await waitFor(() => has(/^STOPPING=1\nSTATUS=stopping \(SIGTERM\)$/) >= 0, 'STOPPING=1');
  } finally {
    await agent.stop('SIGKILL');
    rx.proc.stdin!.end();
  }
});
