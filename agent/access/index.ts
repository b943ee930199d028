// Access decisions and the access log: what a door or machine node asks, and what it records.
export { AccessService, type AccessDecision, type AccessRequest, type DecideOptions } from './decide.ts';
export { AccessLog, type AccessLogOptions, type LogItem } from './access-log.ts';
export { LedgerDoorPolicy, type DoorMode } from './door-policy.ts';
export { badgeHash, parseUid, SITE_SECRET_BYTES } from './badge-hash.ts';
export { DEFAULT_POLICY, type AccessPolicy, type DegradedPolicy } from './policy.ts';
export { REASONS, type ReasonCode } from './reasons.ts';
export { importCsv, planCsvImport, parseCsv, CsvImportError, type ImportSummary } from './csv-import.ts';
export { Staff, act } from './staff.ts';
