// `gdo firstboot`: what gdo-firstboot.service runs on a node's first boot (agent/enrol/firstboot.ts).
import { runFirstboot } from '../enrol/firstboot.ts';
import { onlyFlags, str, type Args } from './args.ts';
import { withTypedErrors } from './node-cmds.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';

function cmdFirstboot(a: Args, out: Output): number {
  onlyFlags(a, ['bootstrap', 'state', 'config', 'site-file', 'root', 'json']);
  const siteFile = a.flags.has('site-file') ? str(a, 'site-file') : undefined;
  // Progress goes to stdout (the journal) in text mode; with --json, stdout holds only the result.
  const log = (m: string): void => { (out.json ? process.stderr : process.stdout).write(`gdo firstboot: ${m}\n`); };
  const r = runFirstboot({
    bootstrap: str(a, 'bootstrap', '/boot/firmware/gdo/bootstrap.json'),
    stateDir: str(a, 'state', '/var/lib/gdo'),
    config: str(a, 'config', '/etc/gdo/agent.json'),
    root: str(a, 'root', '/'),
    ...(siteFile === undefined ? {} : { siteFile }),
    log,
  });
  out.result({ name: r.name, roles: r.roles, org: r.org, key: r.key, kx: r.kx, requestFile: r.requestFile, did: r.did },
    () => `node '${r.name}' (${r.roles.join(',')}) key ${r.key.slice(0, 16)}: waiting for an admin to approve it\n`
      + `  on the admin's machine: gdo node approve ${r.name} --request <copy of ${r.requestFile}>`);
  return 0;
}

export const firstbootCommands: Command[] = [{
  name: 'firstboot',
  summary: "a node's first boot: take its bootstrap, make its keys, request enrolment",
  help: `usage: gdo firstboot [--bootstrap FILE] [--state DIR] [--config FILE] [--site-file FILE] [--root DIR] [--json]
Run by gdo-firstboot.service. Moves the bootstrap (default /boot/firmware/gdo/bootstrap.json) to
STATE/bootstrap.json (mode 0600; default STATE /var/lib/gdo) and deletes the copy on the boot partition, makes
this node's Ed25519 and X25519 keys (STATE/node.key, STATE/node-kx.key, mode 0600), seeds STATE/ledger.db with
the organisation's genesis, writes the agent config (default /etc/gdo/agent.json) and site config (default:
site.json next to it), the hostname and Wi-Fi under ROOT (default /), and a signed enrolment request
(STATE/enrol-request.json, copied next to the bootstrap's old place for USB-stick approval).
Safe to run again after a crash at any point. Until an admin approves the request the node is inert:
outputs safe, badges denied with "node not enrolled".`,
  run: (_sub, a, out) => withTypedErrors(() => cmdFirstboot(a, out)),
}];
