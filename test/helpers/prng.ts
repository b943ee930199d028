// The seeded PRNG of the property and fuzz tests (a failing seed replays): the same mulberry32 the
// reconciliation testkit uses, so there is one implementation.
export { seededRandom as prng } from '../../agent/sync/rbsr/testkit.ts';
