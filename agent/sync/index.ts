// Public surface of the sync layer (docs/sync-protocol.md).
export { SyncNode, type SessionOutcome } from './sync-node.ts';
export {
  DEFAULT_LIMITS, silentLogger, type SyncCounters, type SyncLimits, type SyncLogger, type SyncNodeOptions, type SyncPeerStatus,
  type SyncStatus, type SyncTls,
} from './options.ts';
export { DEFAULT_PEER_LIMITS, type PeerLimits } from './rate-limit.ts';
export { LedgerItemSource, type LedgerItemSourceOptions } from './ledger-source.ts';
export { Topics, NODE_NAME_RE, checkNodeName, orgHex } from './topics.ts';
export { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from './embedded-broker.ts';
export {
  accessFromFiles, accessFromLedger, derivePassword, formatAclFile, formatPasswordFile, hashPassword, parseBrokerSecret, rulesFor, verifyPassword,
  type AccessOptions, type AclRule, type BrokerAccess, type BrokerUser,
} from './broker-auth.ts';
export { clearEnrolmentRequest, collectEnrolmentRequests, publishEnrolmentRequest, type EnrolBrokerOptions } from './enrol-topic.ts';
