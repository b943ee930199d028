// A real site on one machine, as an installer and staff build it (README.md "Installing", provisioning/README.md):
// the installed bundle (installed.ts) for every command and every agent, an admin desk made by `gdo init`, a hub,
// a front door on a PN532 simulator behind a pseudo-terminal with a fake GPIO header, a laser lockout the same way;
// each node provisioned with `gdo provision --target ROOT --config EXAMPLE`, first boot run, its agent started,
// and approved from the desk over the site's broker. The door reaches the broker through a relay the test can cut.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simReader, type SimReader } from '../daemon/helpers.ts';
import { startTcpCut, type TcpCut } from '../sync/tcp-cut.ts';
import { NodeAgent } from './agent.ts';
import { gdoAsync, type Installed } from './installed.ts';
import { freePort } from '../helpers/free-port.ts';

const EXAMPLES = new URL('../../provisioning/examples/', import.meta.url).pathname;
export const PASSPHRASE = 'a long site passphrase';
/** The door's offline limit in this run: short, so a reboot while cut off can be seen to carry the clock on. */
export const DOOR_MAX_OFFLINE_MS = 25_000;

export type BrokerKind = 'embedded' | 'mosquitto';

export interface Run { code: number | null; stdout: string; stderr: string; ms: number }

function example(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')) as Record<string, any>;
}

/** What a test bench changes in an example: the reader's device, a fake header, a status port of its own. */
function benchWiring(cfg: Record<string, any>, readerPath: string | undefined): Record<string, any> {
  const out = structuredClone(cfg);
  if (readerPath) out.readers = (out.readers as Array<Record<string, unknown>>).map((r) => ({ ...r, path: readerPath, reset_line: null }));
  if (out.gpio) out.gpio = { backend: 'fake', fake_state_file: 'gpio-state.json' };
  out.http = { listen: '127.0.0.1:0' };
  return out;
}

export class Site {
  readonly work: string;
  readonly inst: Installed;
  readonly kind: BrokerKind;
  readonly desk: string;
  readonly passFile: string;
  readonly nodes = new Map<string, NodeAgent>();
  readers = new Map<string, SimReader>();
  doorLink: TcpCut | undefined;
  /** The port nodes' and the desk's broker URLs name (embedded broker or Mosquitto). */
  brokerPort = 0;
  mosquitto: import('node:child_process').ChildProcess | undefined;

  constructor(inst: Installed, work: string, kind: BrokerKind) {
    this.inst = inst;
    this.work = work;
    this.kind = kind;
    this.desk = join(work, 'desk');
    this.passFile = join(work, 'passphrase');
    mkdirSync(work, { recursive: true });
    writeFileSync(this.passFile, `${PASSPHRASE}\n`);
    chmodSync(this.passFile, 0o600);
  }

  /** `gdo ARGS --data DESK` at the desk (signing commands read the passphrase file). */
  async gdo(args: string[], opts: { input?: string; sign?: boolean; data?: boolean } = {}): Promise<Run> {
    const full = [...args, ...(opts.data === false ? [] : ['--data', this.desk]), ...(opts.sign ? ['--passphrase-file', this.passFile] : [])];
    const env = { GDO_PASSPHRASE: '', GDO_DATA: '' };
    return gdoAsync(this.inst, full, { env, ...(opts.input === undefined ? {} : { input: opts.input }), timeoutMs: 90_000 });
  }

  /** Like gdo() but the command must succeed. */
  async ok(args: string[], opts: { input?: string; sign?: boolean; data?: boolean } = {}): Promise<Run> {
    const r = await this.gdo(args, opts);
    if (r.code !== 0) throw new Error(`gdo ${args.join(' ')} exited ${String(r.code)}:\n${r.stderr}\n${r.stdout}`);
    return r;
  }

  node(name: string): NodeAgent {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  brokerUrl(port = this.brokerPort): string { return `mqtts://localhost:${port}`; }

  /** gdo init, the readers, provisioning and first boot of hub, front-door and laser, their agents. */
  async build(): Promise<void> {
    await this.ok(['init', '--name', 'Test Space', '--tz', 'Europe/Zurich'], { sign: true });
    this.brokerPort = await freePort();
    this.readers.set('front-door', await simReader());
    this.readers.set('laser', await simReader());
    this.doorLink = await startTcpCut(this.brokerPort);

    const hubCfg = benchWiring(example('hub.json'), undefined);
    if (this.kind === 'embedded') hubCfg.sync = { ...hubCfg.sync, embedded_listen: `127.0.0.1:${this.brokerPort}` };
    else hubCfg.sync = { ...hubCfg.sync, mosquitto_dir: join(this.work, 'mosquitto') };
    if (this.kind === 'mosquitto') delete hubCfg.sync.broker_operators; // Mosquitto's accounts come from its own files
    const doorCfg = benchWiring(example('front-door.json'), this.readers.get('front-door')!.path);
    doorCfg.access = { ...doorCfg.access, max_offline_ms: DOOR_MAX_OFFLINE_MS, offline_policy: 'deny_all' };
    const laserCfg = benchWiring(example('laser.json'), this.readers.get('laser')!.path);
    const plans: Array<{ name: string; role: string; broker: string; cfg: Record<string, any> }> = [
      { name: 'hub', role: 'hub', broker: this.kind === 'embedded' ? 'embedded' : this.brokerUrl(), cfg: hubCfg },
      { name: 'front-door', role: 'door', broker: this.brokerUrl(this.doorLink.port), cfg: doorCfg },
      { name: 'laser', role: 'machine', broker: this.brokerUrl(), cfg: laserCfg },
    ];
    for (const p of plans) {
      const root = join(this.work, 'nodes', p.name);
      mkdirSync(join(root, 'etc/gdo'), { recursive: true });
      mkdirSync(join(root, 'boot/firmware'), { recursive: true }); // Raspberry Pi OS mounts bootfs here
      // What the image ships in /etc/gdo/agent.json (image-build/payload.ts DEFAULT_AGENT_CONFIG), rooted here.
      writeFileSync(join(root, 'etc/gdo/agent.json'), `${JSON.stringify({ state_dir: join(root, 'var/lib/gdo'), log: { level: 'info' } }, null, 2)}\n`);
      const cfgFile = join(this.work, `${p.name}.json`);
      writeFileSync(cfgFile, `${JSON.stringify(p.cfg, null, 2)}\n`);
      await this.ok(['provision', '--target', root, '--node', p.name, '--role', p.role, '--broker', p.broker,
        '--broker-secret-file', join(this.desk, 'broker.secret'), ...(p.broker === 'embedded' ? ['--broker-name', 'localhost'] : []), '--config', cfgFile]);
      await this.ok(['firstboot', '--bootstrap', join(root, 'boot/firmware/gdo/bootstrap.json'), '--state', join(root, 'var/lib/gdo'),
        '--config', join(root, 'etc/gdo/agent.json'), '--root', root], { data: false });
      this.nodes.set(p.name, new NodeAgent(this.inst, p.name, root));
    }
    if (this.kind === 'mosquitto') await this.startMosquitto();
    for (const n of this.nodes.values()) n.start();
    for (const n of this.nodes.values()) await n.url();
  }

  /** The site's own Mosquitto, configured by `gdo broker mosquitto-config` exactly as the README types it. */
  async startMosquitto(): Promise<void> {
    const dir = join(this.work, 'mosquitto');
    await this.ok(['broker', 'mosquitto-config', '--out', dir, '--name', 'localhost', '--port', String(this.brokerPort), '--bind', '127.0.0.1',
      '--pid-file', join(dir, 'mosquitto.pid'), '--operators', 'desk',
      // Started as root (CI), Mosquitto would switch to its own user, which cannot read this test's files.
      ...(process.getuid?.() === 0 ? ['--user', 'root'] : [])]);
    const { spawn } = await import('node:child_process');
    const proc = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.mosquitto = proc;
    let err = '';
    proc.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
    const { waitFor } = await import('../drivers/pn532/helpers.ts');
    const { connect } = await import('node:net');
    let up = false;
    const probe = (): void => {
      const s = connect(this.brokerPort, '127.0.0.1');
      s.once('connect', () => { up = true; s.destroy(); });
      s.once('error', () => s.destroy());
    };
    await waitFor(() => { if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${err}`); probe(); return up; }, 'mosquitto listening', 15_000);
  }

  /** Every node reports itself enrolled (approved at the desk, the approval delivered over the broker). */
  async enrolAll(): Promise<void> {
    await this.ok(['site', 'connect', '--broker', this.brokerUrl(), '--name', 'desk']);
    for (const name of ['hub', 'front-door', 'laser']) {
      await this.approve(name);
    }
  }

  async approve(name: string): Promise<Run> {
    let last: Run | undefined;
    const deadline = Date.now() + 60_000;
    // The request reaches the broker once the node's agent is up; until then approve says it has none.
    for (;;) {
      last = await this.gdo(['node', 'approve', name], { sign: true });
      if (last.code === 0) break;
      if (Date.now() > deadline) throw new Error(`gdo node approve ${name}: ${last.stderr}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await this.until(async () => ((await this.node(name).status())['enrolment'] as { enrolled: boolean }).enrolled, `${name} enrolled`, 60_000);
    return last;
  }

  /** Polls `check` until it holds; a generous deadline, never an assertion on elapsed time. */
  async until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check()) return;
      if (Date.now() > deadline) {
        const tails = [...this.nodes.values()].map((n) => `--- ${n.name}\n${n.tail(15)}`).join('\n');
        throw new Error(`timed out waiting for ${what}\n${tails}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].filter((n) => n.name !== 'hub').map((n) => n.stop()));
    await this.nodes.get('hub')?.stop();
    this.mosquitto?.kill('SIGTERM');
    await this.doorLink?.stop();
    for (const r of this.readers.values()) await r.dispose();
  }
}
