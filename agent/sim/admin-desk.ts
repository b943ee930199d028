// The admin's side of the simulated site: a data directory as `gdo init` leaves it (operator key file,
// site secret, ledger with the genesis), the demo people, badges, schedules, door and laser written
// through Staff (what the staff CLI does), node approval as `gdo node approve NAME --broker URL` does
// it, and the desk's own sync link so what staff sign reaches the nodes the way it would from an
// office laptop on the site's network.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badgeHash } from '../access/badge-hash.ts';
import { Staff } from '../access/staff.ts';
import { writeKeyFile } from '../cli/keyfile.ts';
import { allDapps } from '../dapps.ts';
import { approveEnrolment } from '../enrol/approve.ts';
import { isEnrolError } from '../enrol/errors.ts';
import type { NodeRole } from '../enrol/fields.ts';
import { readProvisioned } from '../enrol/provisioned.ts';
import { parseEnrolmentRequest } from '../enrol/request.ts';
import { ensureSiteSecret } from '../enrol/site-secret.ts';
import { CA_CERT_FILE, createSiteCa } from '../enrol/site-ca.ts';
import { generateKeyPair, Signer } from '../ledger/crypto.ts';
import { hex } from '../ledger/event.ts';
import { Ledger } from '../ledger/ledger.ts';
import { derivePassword } from '../sync/broker-auth.ts';
import { collectEnrolmentRequests } from '../sync/enrol-topic.ts';
import { SyncNode } from '../sync/sync-node.ts';
import { listAnomalies, type Anomaly } from '../../dapps/access/anomaly.ts';
import { provisionNode } from '../../provisioning/provision.ts';
import { ADMIN_NAME, DEMO_PASSPHRASE, DESK, DOOR, DOOR_RULES, LASER, PEOPLE, schedules, SIM_BROKER_HOST, SITE_NAME } from './plan.ts';

export interface Approval { name: string; roles: string[]; key: string; event: string }

export class AdminDesk {
  readonly dir: string;
  readonly ledger: Ledger;
  readonly staff: Staff;
  readonly #secret: Buffer;
  /** The broker secret (`gdo broker secret --out DIR/broker.secret`): every MQTT password derives from it. */
  readonly #brokerSecret: Buffer;
  #sync: SyncNode | undefined;

  private constructor(dir: string, ledger: Ledger, signer: Signer, secret: Buffer, brokerSecret: Buffer) {
    this.dir = dir;
    this.ledger = ledger;
    this.staff = new Staff(ledger, signer);
    this.#secret = secret;
    this.#brokerSecret = brokerSecret;
  }

  /** `gdo init --name SITE --tz TZ` in `dir`: operator key (passphrase-protected), site secret, broker secret, site CA, genesis. */
  static init(dir: string, tz: string): AdminDesk {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pair = generateKeyPair();
    writeKeyFile(join(dir, 'operator.key'), pair, DEMO_PASSPHRASE);
    const { secret } = ensureSiteSecret(dir);
    const brokerSecret = randomBytes(32);
    writeFileSync(join(dir, 'broker.secret'), `${brokerSecret.toString('hex')}\n`, { mode: 0o600 });
    createSiteCa(dir, SITE_NAME);
    const ledger = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps });
    const signer = new Signer(pair);
    const { result } = ledger.append(signer, 'org', 'genesis', { name: SITE_NAME, admins: [{ key: pair.publicKey.toString('hex'), name: ADMIN_NAME }], tz });
    if (result.status !== 'accepted') throw new Error(`genesis refused: ${result.code ?? result.status} ${result.message ?? ''}`);
    return new AdminDesk(dir, ledger, signer, secret, brokerSecret);
  }

  get org(): string { return hex(this.ledger.orgId!); }

  /** The keyed hash the ledger knows a card by; the UID itself never leaves this process and the readers. */
  badgeOf(uid: Buffer): string { return badgeHash(this.#secret, uid); }

  /** The demo people, their badges, the schedules, the front door and the laser; returns the events signed. */
  seed(cards: Map<string, Buffer>, tz: string): number {
    const before = this.ledger.count();
    const s = this.staff;
    for (const sc of schedules(tz)) s.schedule(sc);
    s.addDoor({ id: DOOR.id, name: DOOR.name, node: DOOR.node, rules: DOOR_RULES });
    s.addMachine({ id: LASER.id, name: LASER.name, node: LASER.node, cert_required: true, cert_days: 365 });
    for (const p of PEOPLE) {
      if (!p.member) continue;
      s.addMember({ id: p.id, name: p.name, groups: p.groups });
      s.assignBadge(this.badgeOf(cards.get(p.id)!), p.id);
      if (p.laser?.trainer) s.setRole(LASER.id, p.id, 'trainer', true);
      if (p.laser?.maintainer) s.setRole(LASER.id, p.id, 'maintainer', true);
      if (p.laser?.certified) s.certify(LASER.id, p.id);
      if (p.suspended) s.suspend(p.id, 'demo: dues unpaid');
    }
    return this.ledger.count() - before;
  }

  /**
   * `gdo provision --node NAME --role ROLES --target ROOT --broker URL --broker-secret-file DIR/broker.secret`;
   * for the hub also `--broker-name 127.0.0.1`: every simulated node reaches it on loopback, through its link.
   */
  async provision(name: string, roles: NodeRole[], broker: string, root: string): Promise<void> {
    mkdirSync(join(root, 'boot/firmware'), { recursive: true });
    await provisionNode({
      ledger: this.ledger, dataDir: this.dir, name, roles, broker: { url: broker }, brokerSecret: this.#brokerSecret, site: { name: SITE_NAME }, target: root,
      ...(broker === 'embedded' && { brokerNames: [SIM_BROKER_HOST] }),
    });
  }

  /** The site CA, as `gdo site connect --ca DIR/ca.crt` gives it to the desk's connection. */
  #tls(): { ca: string; rejectUnauthorized: true } {
    return { ca: readFileSync(join(this.dir, CA_CERT_FILE), 'utf8'), rejectUnauthorized: true };
  }

  /** The desk's broker account: an operator the hub lists in sync.broker_operators (`gdo broker password --name office`). */
  #login(): { username: string; password: string } {
    return { username: DESK, password: derivePassword(this.#brokerSecret, this.ledger.orgId!, DESK) };
  }

  /** The desk joins the site's sync as peer 'office' through `url`. */
  async startSync(url: string): Promise<void> {
    const node = new SyncNode({
      ledger: this.ledger, url, tls: this.#tls(), orgId: this.ledger.orgId!, nodeName: DESK, reconnectPeriodMs: 500, liveSyncDelayMs: 300, ...this.#login(),
    });
    this.#sync = node;
    await node.start();
  }

  syncConnected(): boolean { return this.#sync?.status().connected ?? false; }

  /**
   * Approves every provisioned node whose signed request is retained on the broker and that is not
   * enrolled yet, as `gdo node approve NAME --broker URL` would (token, org and roles checked; the site
   * secret sealed to the node's X25519 key).
   */
  async approveWaiting(url: string, names: readonly string[]): Promise<Approval[]> {
    const found = await collectEnrolmentRequests({ url, tls: this.#tls(), orgId: this.ledger.orgId!, waitMs: 250, connectTimeoutMs: 3000, ...this.#login() });
    const out: Approval[] = [];
    for (const f of found) {
      if (!names.includes(f.name) || readProvisioned(this.dir, f.name)?.approved) continue;
      try {
        const request = parseEnrolmentRequest(f.payload, `enrol/${f.name}`);
        const r = approveEnrolment({ ledger: this.ledger, dataDir: this.dir, name: f.name, request, signer: this.staff.signer });
        out.push({ name: f.name, roles: r.roles, key: r.key, event: r.event });
      } catch (err) {
        if (!isEnrolError(err)) throw err;
        throw new Error(`could not approve '${f.name}': ${err.code}: ${err.message}`);
      }
    }
    return out;
  }

  anomalies(): Anomaly[] { return listAnomalies(this.ledger); }

  async stopSync(): Promise<void> {
    const s = this.#sync;
    this.#sync = undefined;
    await s?.stop();
  }

  close(): void {
    this.ledger.close();
  }
}
