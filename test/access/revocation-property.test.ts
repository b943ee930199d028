// The revocation-safety property (docs/access-model.md, "Merge semantics"), seeded and replayable:
// random schedules of partitions, local changes (badge revocations and re-grants, suspensions and
// reinstatements, trainer role changes, certifications at the desk and at the machine) and badge
// uses, merged among 4 in-process nodes. Checked throughout and after the final merge:
// - no node allows a badge after it received that badge's revocation (or its member's suspension)
//   unless it also received a re-grant that follows it;
// - every node ends with the same state hash;
// - every grant made after a revocation its node could not know is flagged, and no other.
// GDO_PROPERTY_SCHEDULES sets how many schedules: 2,000 in `npm test`, 10,000 in
// `npm run test:property` (the campaign of record) (GDO_FUZZ_SCALE multiplies it);
// GDO_PROPERTY_SEED=N replays one schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionSim } from './partition-sim.ts';

const SCHEDULES = Number(process.env['GDO_PROPERTY_SCHEDULES'] ?? 2_000) * Number(process.env['GDO_FUZZ_SCALE'] ?? 1);
const ONE = process.env['GDO_PROPERTY_SEED'];
const STEPS = 40;

function runSchedule(seed: number): PartitionSim {
  const sim = new PartitionSim(seed);
  try {
    for (let k = 0; k < STEPS; k++) sim.step();
    sim.healAll();
    sim.checkConverged();
    return sim;
  } catch (e) {
    throw new Error(`schedule seed ${seed} failed (replay: GDO_PROPERTY_SEED=${seed} node scripts/test.mjs test/access/revocation-property.test.ts): ${(e as Error).message}`, { cause: e });
  } finally {
    sim.close();
  }
}

test(`revocation wins and offline grants are flagged over ${ONE ?? SCHEDULES} random partition schedules of 4 nodes`, () => {
  const seeds = ONE !== undefined ? [Number(ONE)] : Array.from({ length: SCHEDULES }, (_, i) => 0x5eed0000 + i);
  const total = { uses: 0, allows: 0, changes: 0, merges: 0, partitions: 0 };
  for (const seed of seeds) {
    const sim = runSchedule(seed);
    for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += sim.counts[k];
  }
  // The schedules must actually exercise what they claim to.
  assert.ok(total.allows > seeds.length, `too few grants: ${JSON.stringify(total)}`);
  assert.ok(total.merges > seeds.length, `too few merges: ${JSON.stringify(total)}`);
});
