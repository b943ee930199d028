// Node identity and where its state lives. First boot (agent/enrol/firstboot.ts) writes these keys from
// the installer's bootstrap; the node's own keys are node.key and node-kx.key in state_dir
// (agent/enrol/node-keys.ts), made on the device and never copied.
import { c, type Node } from '../schema.ts';

export const stateDirSchema: Node = c.str('Directory for this node\'s state: node keys (node.key, node-kx.key), ledger, enrolment request, broker password. Relative paths in this file are relative to it. It must exist (first boot creates it): the agent and `gdo config check` refuse a missing one, a typo, rather than create it.',
  '/var/lib/gdo', { minLength: 1 });

export const orgSchema: Node = c.str('The organisation\'s genesis id (64 hex characters), written by first boot; the agent refuses a ledger of another organisation. Empty: the organisation the ledger already holds.',
  '', { pattern: /^(|[0-9a-f]{64})$/, patternText: '64 lowercase hex characters or ""' });

export const nodeSchema: Node = c.obj('Who this node is.', {
  name: c.str('Node name shown in status and logs; empty means the host name.', '',
    { pattern: /^(|[a-z0-9][a-z0-9-]{0,62})$/, patternText: 'a host-like name (a-z, 0-9, -) or ""' }),
  roles: c.list('Roles this node was provisioned for (first boot writes them). What it drives comes from doors, machines and sync.broker; status shows both.',
    c.oneOf('A node role.', ['door', 'machine', 'hub'], 'door'), { maxItems: 3 }),
});

export const siteFileSchema: Node = c.str('Site-wide settings (JSON, e.g. /etc/gdo/site.json) that first boot copies from the bootstrap; the site name shows in status. Empty for none.', '');

export const bootstrapFileSchema: Node = c.str('This node\'s bootstrap as first boot keeps it (mode 0600, it holds secrets). The agent does not read it; the key tells tools where it is. Empty for none.', '');

export const enrolmentSchema: Node = c.obj('Enrolment of this node with its organisation (issue 7).', {
  request_file: c.str('The signed enrolment request first boot made; sync publishes it until an admin approves the node. Empty for none.', ''),
});
