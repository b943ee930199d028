// Drives peer-process.ts children from a test: spawn, send a command, await its answer.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { SyncStatus } from '../../agent/sync/options.ts';
import type { SessionOutcome } from '../../agent/sync/initiator.ts';
import type { Anomaly } from '../../dapps/access/anomaly.ts';

export interface PeerConfig { db: string; url: string; org: string; name: string; dapps: string[]; sync?: Record<string, unknown> }
export interface PeerState { count: number; stateHash: string; heads: string[]; pending: number; softFailed: string[]; sync: SyncStatus }

const live = new Set<ChildProcess>();
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); });

export class Peer {
  private readonly child: ChildProcess;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly name: string, cfg: PeerConfig) {
    const script = new URL('./peer-process.ts', import.meta.url).pathname;
    this.child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this.child);
    this.exited = new Promise((r) => this.child.once('exit', (code) => {
      live.delete(this.child);
      for (const w of this.waiting.values()) w.reject(new Error(`peer ${name} exited (${code}): ${this.stderr.slice(-2000)}`));
      this.waiting.clear();
      r(code);
    }));
    this.child.stderr!.on('data', (d: Buffer) => { if (this.stderr.length < 20_000) this.stderr += d.toString(); });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let msg: { id: number; ok: boolean; result?: unknown; error?: string };
      try { msg = JSON.parse(line) as typeof msg; } catch { return; }
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.ok) w.resolve(msg.result);
      else w.reject(new Error(`peer ${name}: ${msg.error}`));
    });
  }

  call<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    });
  }

  /** The child's process id (its memory is read from /proc). */
  get pid(): number { return this.child.pid!; }
  state(): Promise<PeerState> { return this.call<PeerState>('state'); }
  append(signer: string, dapp: string, type: string, body: unknown): Promise<{ status: string; id: string; code?: string }> {
    return this.call('append', { signer, dapp, type, body });
  }
  ingest(raws: Buffer[]): Promise<unknown> { return this.call('ingest', { raws: raws.map((r) => r.toString('hex')) }); }
  has(ids: string[]): Promise<boolean[]> { return this.call<boolean[]>('has', { ids }); }
  sync(peer?: string): Promise<SessionOutcome | null> { return this.call('sync', peer ? { peer } : {}); }
  /** A staff operation (agent/access/staff.ts) signed by `signer`; the event's id. */
  async staff(signer: string, op: string, ...args: unknown[]): Promise<string> { return (await this.call<{ id: string }>('staff', { signer, op, args })).id; }
  /** A badge read at `resource` on this node (as node `signer`): the decision and its access/decision event. */
  badge(signer: string, siteSecret: Buffer, uid: Buffer, resource: string): Promise<{ allow: boolean; reason: string; id?: string }> {
    return this.call('badge', { signer, siteSecret: siteSecret.toString('hex'), uid: uid.toString('hex'), resource });
  }
  anomalies(): Promise<Anomaly[]> { return this.call<Anomaly[]>('anomalies'); }

  /** Asks the process to stop cleanly and waits for its exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    await this.call('stop').catch(() => undefined);
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  kill(): void { this.child.kill('SIGKILL'); }
}
