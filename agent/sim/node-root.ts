// One simulated node's disk, laid out like a Pi's root file system: the installer's image defaults
// (the hardware part of /etc/gdo/agent.json), then the admin's `gdo provision --target ROOT` (the
// bootstrap on /boot/firmware/gdo), then first boot (keys, ledger seeded with the genesis, identity
// merged into the agent config, signed enrolment request). The same code paths as on a real node
// (agent/enrol/firstboot.ts), only rooted in a temp directory.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeBoardFile } from '../daemon/parts/fake-board-file.ts';
import { runFirstboot } from '../enrol/firstboot.ts';
import type { AdminDesk } from './admin-desk.ts';
import type { NodePlan } from './plan.ts';

export interface NodeRoot {
  name: string;
  root: string;
  stateDir: string;
  config: string;
  /** The fake GPIO header's state file; absent on the hub. */
  gpioFile: string | undefined;
}

export async function prepareNode(desk: AdminDesk, plan: NodePlan, broker: string, root: string): Promise<NodeRoot> {
  const stateDir = join(root, 'var/lib/gdo');
  const config = join(root, 'etc/gdo/agent.json');
  mkdirSync(join(root, 'etc/gdo'), { recursive: true });
  mkdirSync(join(root, 'var/log'), { recursive: true });
  // What the image ships, before first boot adds who the node is.
  writeFileSync(config, `${JSON.stringify(plan.hardware, null, 2)}\n`);
  await desk.provision(plan.name, plan.roles, broker, root);
  runFirstboot({ bootstrap: join(root, 'boot/firmware/gdo/bootstrap.json'), stateDir, config, root });
  const gpio = (plan.hardware['gpio'] as { fake_state_file?: string } | undefined)?.fake_state_file;
  const gpioFile = gpio ? join(stateDir, gpio) : undefined;
  if (gpioFile !== undefined && !existsSync(gpioFile)) writeFileSync(gpioFile, `${JSON.stringify(shutDoors(plan))}\n`);
  return { name: plan.name, root, stateDir, config, gpioFile };
}

/**
 * The fake header as the hardware leaves it: every door shut. A reed switch sits on a pulled-up line and
 * closes to GND when the door is shut (docs/wiring.md), so a fake line left at its pull would read "open".
 */
function shutDoors(plan: NodePlan): FakeBoardFile {
  const doors = (plan.hardware['doors'] ?? []) as Array<{ pins?: { door_switch?: { line: number; active_low?: boolean } } }>;
  const lines: FakeBoardFile['lines'] = {};
  for (const d of doors) {
    const sw = d.pins?.door_switch;
    if (sw) lines[String(sw.line)] = { mode: 'input', level: sw.active_low ? 1 : 0 };
  }
  return { lines };
}
