// One simulated node's disk, laid out like a Pi's root file system: the installer's image defaults
// (the hardware part of /etc/gdo/agent.json), then the admin's `gdo provision --target ROOT` (the
// bootstrap on /boot/firmware/gdo), then first boot (keys, ledger seeded with the genesis, identity
// merged into the agent config, signed enrolment request). The same code paths as on a real node
// (agent/enrol/firstboot.ts), only rooted in a temp directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  return { name: plan.name, root, stateDir, config, gpioFile: gpio ? join(stateDir, gpio) : undefined };
}
