// The staff commands in the order `gdo --help` lists them: one import in main.ts for the group.
import { badgeCommands } from './badge-cmds.ts';
import { doorCommands } from './door-cmds.ts';
import { machineCommands } from './machine-cmds.ts';
import { memberCommands } from './member-cmds.ts';
import type { Command } from './registry.ts';
import { siteCommands } from './site-cmds.ts';

export const staffCommands: Command[] = [...siteCommands, ...memberCommands, ...badgeCommands, ...doorCommands, ...machineCommands];
