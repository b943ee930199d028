// Where access decisions come from: the factory hook that builds the decider, the event sink and the door
// policy from the open ledger (agent/access). It runs each time the ledger (re)opens; close() runs before
// the ledger closes and commits what the access log still holds (SIGTERM: pending writes committed).
//
// A node without its keys (first boot has not run) or not approved by an admin denies every badge with
// 'node_not_enrolled' and writes nothing to the ledger (issue 7: inert until approved).
import type { Ledger } from '../../ledger/ledger.ts';
import { Signer } from '../../ledger/crypto.ts';
import { AccessLog } from '../../access/access-log.ts';
import { checkCertification } from '../../access/certify-check.ts';
import { AccessService } from '../../access/decide.ts';
import { machineServiceState } from '../../access/machine-state.ts';
import { LedgerDoorPolicy } from '../../access/door-policy.ts';
import { enrolmentState, nodeSiteSecret } from '../../enrol/status.ts';
import { readNodeKeys, type NodeKeys } from '../../enrol/node-keys.ts';
import type { AccessDecider, Decision, DoorPolicy, EventSink } from '../../controllers/types.ts';
import type { AgentConfig } from '../config/index.ts';
import { errText, type Logger } from '../log.ts';
import type { Part, PartHealth } from '../supervisor.ts';

export interface AccessContext {
  ledger: Ledger;
  config: AgentConfig;
  log: Logger;
  /**
   * Epoch ms the offline period counts from: the last contact with a peer, kept across restarts
   * (../offline-clock.ts); null when unknown, which applies access.offline_policy.
   */
  offlineSince: () => number | null;
  /** The ledger refused a write for a reason of its own (I/O, disk full): outputs go safe, the ledger reopens. */
  ledgerFault: (err: unknown) => void;
}

export interface Enrolment {
  enrolled: boolean;
  /** not-enrolled, enrolled, revoked, not-a-node (agent/enrol/status.ts), or no-keys before first boot. */
  state: string;
  /** Why not, when not. */
  reason?: string;
  name?: string;
  roles?: string[];
  /** This node's public key (hex). */
  key?: string;
  /** Whether the site secret sealed to this node has been opened (badges cannot be checked without it). */
  site_secret?: boolean;
}

export interface NodeAccess {
  decider: AccessDecider;
  /** Turns controller events into signed ledger events. */
  sink: EventSink;
  policy: DoorPolicy;
  enrolment(): Enrolment;
  /** Commits pending writes; called before the ledger closes. */
  close?(): void;
}

export type AccessFactory = (ctx: AccessContext) => NodeAccess;

export const NOT_ENROLLED = 'node_not_enrolled';

/** Denies every badge, records nothing: a node that has no keys yet. */
export function notEnrolledAccess(reason: string, state = 'not-enrolled'): NodeAccess {
  const deny: Decision = { allow: false, reason: NOT_ENROLLED, rule: reason };
  return {
    decider: { decide: () => ({ ...deny }), checkCertification: () => ({ ok: false, reason: NOT_ENROLLED, detail: reason }) },
    sink: { record: () => undefined },
    policy: { mode: () => 'normal' },
    enrolment: () => ({ enrolled: false, state, reason }),
  };
}

/** The agent/access service on this node's ledger and keys. */
export const ledgerAccess: AccessFactory = (ctx) => {
  const { ledger, config, log } = ctx;
  let keys: NodeKeys | undefined;
  try {
    keys = readNodeKeys(config.state_dir);
  } catch (err) {
    log.error({ err }, `node keys unusable: ${errText(err)}`);
    return notEnrolledAccess(`node keys unusable: ${errText(err)}`, 'no-keys');
  }
  if (!keys) return notEnrolledAccess(`no node keys in ${config.state_dir} (first boot has not run)`, 'no-keys');
  const nodeKey = keys.sign.publicKey.toString('hex');
  const kx = keys.kx.privateKey;
  const openSecret = (): Buffer | null => {
    try {
      return nodeSiteSecret(ledger, nodeKey, kx) ?? null;
    } catch (err) {
      log.warn({ err }, `the site secret sealed to this node does not open: ${errText(err)}`);
      return null;
    }
  };
  let secret = openSecret();
  const a = config.access;
  const service = new AccessService({
    ledger, nodeKey, siteSecret: secret, offlineSince: ctx.offlineSince,
    policy: {
      maxOfflineMs: a.max_offline_ms, offline: a.offline_policy, clockToleranceMs: a.clock_tolerance_ms,
      clockQuorum: a.clock_quorum, clock: a.clock_policy, staffGroups: a.staff_groups,
    },
  });
  let droppedSeen = 0;
  const accessLog = new AccessLog({
    ledger, signer: new Signer(keys.sign), service,
    onError: (message) => {
      const dropped = accessLog.stats.dropped;
      log.error(message);
      // Dropped = the ledger threw on the write (not a validation refusal): treat it as a ledger fault.
      if (dropped > droppedSeen) ctx.ledgerFault(new Error(message));
      droppedSeen = dropped;
    },
  });
  return {
    decider: {
      decide: (req) => {
        // node.add may bring the sealed secret by sync at any time after start.
        if (secret === null) {
          secret = openSecret();
          if (secret !== null) service.setSiteSecret(secret);
        }
        return service.decide(req);
      },
      checkCertification: (req) => checkCertification({ ledger, nodeKey, siteSecret: secret }, req),
      machineState: (id) => machineServiceState(ledger, id),
    },
    // A node no admin approved signs nothing: its events would be refused (unknown author) anyway.
    sink: { record: (kind, body) => { if (service.enrolled()) accessLog.record(kind, body); } },
    policy: new LedgerDoorPolicy(ledger),
    enrolment: () => {
      const st = enrolmentState(ledger, nodeKey);
      return {
        enrolled: st.state === 'enrolled', state: st.state, key: nodeKey, site_secret: secret !== null,
        ...(st.state !== 'enrolled' && { reason: st.state === 'not-enrolled' ? 'node not enrolled' : `node key ${st.state}` }),
        ...('name' in st && { name: st.name, roles: st.roles }),
      };
    },
    close: () => accessLog.close(),
  };
};

// The factory the daemon uses unless told otherwise (tests and the simulated site pass their own).
export const createAccess: AccessFactory = ledgerAccess;

/** The access service as a supervised part: rebuilt whenever the ledger reopens. */
export class AccessPart implements Part {
  readonly name = 'access';
  readonly deps = ['ledger'] as const;
  readonly #factory: AccessFactory;
  readonly #ctx: () => AccessContext | undefined;
  #service: NodeAccess | undefined;

  constructor(factory: AccessFactory, ctx: () => AccessContext | undefined) {
    this.#factory = factory;
    this.#ctx = ctx;
  }

  get service(): NodeAccess | undefined { return this.#service; }

  start(): void {
    const ctx = this.#ctx();
    if (!ctx) throw new Error('the ledger is not open');
    this.#service = this.#factory(ctx);
  }

  stop(): void {
    const s = this.#service;
    this.#service = undefined;
    s?.close?.();
  }

  health(): PartHealth {
    return this.#service ? { state: 'ok' } : { state: 'failed', detail: 'not built' };
  }
}
