// `gdo sim`: the simulated maker space (agent/sim/run.ts); `npm start` runs it with no options.
import { onlyFlags, str, UsageError } from './args.ts';
import type { Command } from './registry.ts';

export const simCommands: Command[] = [{
  name: 'sim',
  summary: 'a simulated maker space: hub, front door and laser nodes on simulated hardware, and a prompt',
  booleans: ['keep', 'no-color'],
  help: `usage: gdo sim [--dir DIR] [--keep] [--script FILE] [--no-color]
Brings up a demo maker space in a temp directory: the admin's data directory (gdo init, provisioning,
approvals), a hub with the embedded broker, a front-door node and a laser-cutter lockout node, each a
\`gdo agent\` process on simulated PN532 readers and fake GPIO, seeded with members, badges, a schedule,
the door's rules and the laser's certificates. Then a prompt: badge, open/hold the door, certify at the
laser, revoke, cut a node off and heal it; type help there.
  --dir DIR      put the site in DIR (absent or empty) instead of a new temp directory
  --keep         keep the directory on exit (the office's data directory works with the gdo CLI)
  --script FILE  run FILE's commands (one a line, # narrates) instead of a prompt, then stop
  --no-color     plain text (also when NO_COLOR is set or stdout is not a terminal)
Without a terminal and without --script, commands are read from stdin until it ends.
Ctrl-C or quit stops every agent (outputs safe) and removes the directory. Exit 1 when the site did not
come up or a script command failed.`,
  run: async (_sub, a) => {
    onlyFlags(a, ['dir', 'keep', 'script', 'no-color', 'json']);
    if (a.flags.has('json')) throw new UsageError('gdo sim has no --json output (it is a live display)');
    if (a.pos.length > 0) throw new UsageError(`gdo sim takes no arguments, got '${a.pos[0]!}'`);
    const { runSim, SimUsageError } = await import('../sim/run.ts');
    const color = a.flags.get('no-color') !== true && process.stdout.isTTY === true && !process.env['NO_COLOR'];
    let code: number;
    try {
      code = await runSim({
        keep: a.flags.get('keep') === true, color,
        ...(a.flags.has('dir') && { dir: str(a, 'dir') }),
        ...(a.flags.has('script') && { script: str(a, 'script') }),
      });
    } catch (err) {
      if (err instanceof SimUsageError) throw new UsageError(err.message);
      throw err;
    }
    // Every agent is stopped and the directory gone; a stdin still open must not keep this process alive.
    process.exit(code);
  },
}];
