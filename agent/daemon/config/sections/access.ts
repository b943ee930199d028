// How access decisions (agent/access, AccessPolicy in agent/access/policy.ts) behave when the node cannot
// trust its own view: no contact with a peer for too long, or a clock behind the ledger. The decisions
// themselves come from the ledger replica.
import { c, type Node } from '../schema.ts';

const DEGRADED = ['deny_all', 'staff_only', 'allow_known'] as const;
const DEGRADED_TEXT = 'deny_all: deny everyone (exit buttons keep working). staff_only: only members of staff_groups. allow_known: decide as usual.';

export const accessSchema: Node = c.obj('Access decisions when the node cannot trust its own view.', {
  max_offline_ms: c.int('Longest time without contact with any peer before offline_policy applies, counted across restarts from the last contact kept in STATE_DIR/offline-clock.json (or from the first start); null = never (a node without sync.broker).',
    0, 31_536_000_000, 604_800_000, { nullable: true }),
  offline_policy: c.oneOf(`After max_offline_ms without a peer. ${DEGRADED_TEXT}`, DEGRADED, 'staff_only'),
  clock_tolerance_ms: c.int('A clock more than this far behind this node\'s own earlier events, or behind the own clocks of clock_quorum other keys, is wrong (a Pi has no real-time clock, docs/access-model.md). Must be at least ledger.max_skew_ms.',
    0, 86_400_000, 120_000),
  clock_quorum: c.int('Distinct other live keys (nodes, admins) whose own clocks must all be more than clock_tolerance_ms ahead before this clock counts as behind; all of them when the site has fewer (a site with one other key takes its word).',
    1, 64, 2),
  clock_policy: c.oneOf(`With a clock behind the ledger. ${DEGRADED_TEXT}`, DEGRADED, 'staff_only'),
  staff_groups: c.list('Member groups counted as staff for the two policies above.', c.str('A group name.', undefined, { minLength: 1 }),
    { maxItems: 16, default: ['staff'] }),
});
