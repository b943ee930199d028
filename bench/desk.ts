// `npm run bench -- desk`: how long a change made at the staff desk takes to be in force at an online
// door (issue 12: at most 2 s p99). Real processes throughout (test/desk/site.ts): a hub `gdo agent` with
// the embedded TLS broker, a door `gdo agent` on a simulated reader, and the desk's `gdo` CLI from the
// built bundle (dist/gdo.js, as the image installs it) connected with `gdo site connect`. Each run starts
// `gdo member suspend alice` or `gdo member reinstate alice` (alternately) and badges Alice's card at the
// door over and over until the door decides accordingly; the figure is from the command's start to that
// decision's timestamp in the door's log. It includes the CLI's start, the passphrase's key derivation,
// the signing, the push and the door's ingest, and is an upper bound by up to one badge cycle (reported;
// two cards of Alice's in turn, so each presentation is decided at once).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Metric } from './metric.ts';
import { ALICE_UID, ALICE_UID_2, buildSite, ok, ROOT, type DeskSite } from '../test/desk/site.ts';

const RUNS = Number(process.env['GDO_BENCH_DESK_RUNS'] ?? 20);

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function seed(site: DeskSite): Promise<void> {
  ok(await site.cli(['door', 'add', 'front', '--name', 'Front door', '--node', 'front-door', '--rule', 'members']), 'door add');
  ok(await site.cli(['member', 'add', 'alice', '--name', 'Alice', '--groups', 'members']), 'member add');
  ok(await site.cli(['badge', 'assign', '--member', 'alice', '--uid', ALICE_UID]), 'badge assign');
  ok(await site.cli(['badge', 'assign', '--member', 'alice', '--uid', ALICE_UID_2]), 'badge assign');
  for (let i = 0; i < 100 && !(await site.badge(ALICE_UID)).allow; i++) await new Promise((r) => setTimeout(r, 100));
}

export async function deskBench(): Promise<Metric[]> {
  // The bundle is what an installed desk runs; build it from the current sources.
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (b.status !== 0) throw new Error('npm run build failed');
  const site = await buildSite({ tls: true, entry: 'bundle' });
  try {
    await seed(site);
    const lat: number[] = [];
    const cmd: number[] = [];
    const cycles: number[] = [];
    const push: number[] = [];
    let card = 0;
    for (let i = 0; i < RUNS; i++) {
      const suspend = i % 2 === 0;
      const t0 = Date.now();
      const running = site.cli(['member', suspend ? 'suspend' : 'reinstate', 'alice', '--json']);
      let done = false;
      void running.then(() => { done = true; });
      let hit: number | undefined;
      for (let tries = 0; hit === undefined && tries < 400; tries++) {
        const c0 = Date.now();
        // Two cards in turn: each replaces the other on the reader, so every presentation is a new card at once.
        const d = await site.badge(card++ % 2 ? ALICE_UID_2 : ALICE_UID, { leave: true });
        cycles.push(Date.now() - c0);
        if (d.allow === !suspend && d.at >= t0) hit = d.at;
      }
      const r = await running;
      ok(r, `run ${i}`);
      if (hit === undefined) throw new Error(`run ${i}: the door never decided accordingly (command done: ${String(done)})`);
      lat.push(hit - t0);
      cmd.push(r.ms);
      const p = (JSON.parse(r.stdout) as { push?: { state: string; ms: number } }).push;
      if (p?.state !== 'delivered') throw new Error(`run ${i}: push ${JSON.stringify(p)}`);
      push.push(p.ms);
    }
    lat.sort((x, y) => x - y);
    cmd.sort((x, y) => x - y);
    cycles.sort((x, y) => x - y);
    push.sort((x, y) => x - y);
    const m = (metric: string, value: number, unit = 'ms'): Metric => ({ suite: 'desk', metric, value: Math.round(value), unit });
    return [
      m('desk_to_door_p50_ms', quantile(lat, 0.5)),
      m('desk_to_door_p99_ms', quantile(lat, 0.99)),
      m('desk_to_door_min_ms', lat[0]!),
      m('desk_to_door_max_ms', lat[lat.length - 1]!),
      m('count', lat.length, 'runs'),
      m('command_p50_ms', quantile(cmd, 0.5)),
      // From signed to the hub's confirmation (the door has it earlier, from the live publication).
      m('push_p50_ms', quantile(push, 0.5)),
      m('push_p99_ms', quantile(push, 0.99)),
      m('badge_cycle_p50_ms', quantile(cycles, 0.5)),
      m('retaps', site.retaps, 'taps'),
    ];
  } finally {
    await site.dispose();
  }
}
