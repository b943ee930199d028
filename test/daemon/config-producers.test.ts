// The files other parts of gdo write for the agent must pass the agent's own check, or a node would
// refuse to start (exit 78): the image's defaults (image-build/payload.ts) and what first boot writes
// from a bootstrap (agent/enrol/firstboot.ts).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { encodeBootstrap } from '../../agent/enrol/bootstrap.ts';
import { runFirstboot } from '../../agent/enrol/firstboot.ts';
import { loadConfig, parseConfig, rolesOf } from '../../agent/daemon/config/index.ts';
import { DEFAULT_AGENT_CONFIG } from '../../image-build/payload.ts';
import { bootstrapFor, foundOrg } from '../enrol/helpers.ts';
import { tempDir } from './helpers.ts';

const t = tempDir();
after(() => t.dispose());

it('accepts the image\'s default agent.json', () => {
  const cfg = parseConfig(structuredClone(DEFAULT_AGENT_CONFIG));
  assert.equal(cfg.state_dir, DEFAULT_AGENT_CONFIG.state_dir);
});

it('accepts the agent.json first boot writes, with the node\'s identity and broker in it', () => {
  mkdirSync(join(t.dir, 'admin'));
  const org = foundOrg(join(t.dir, 'admin'));
  try {
    const boot = bootstrapFor(org);
    const root = join(t.dir, 'node');
    mkdirSync(join(root, 'boot/firmware/gdo'), { recursive: true });
    mkdirSync(join(root, 'etc/gdo'), { recursive: true });
    writeFileSync(join(root, 'boot/firmware/gdo/bootstrap.json'), encodeBootstrap(boot));
    writeFileSync(join(root, 'etc/hostname'), 'raspberrypi\n');
    writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n');
    const config = join(root, 'etc/gdo/agent.json');
    writeFileSync(config, JSON.stringify(DEFAULT_AGENT_CONFIG));
    const stateDir = join(root, 'var/lib/gdo');
    runFirstboot({ bootstrap: join(root, 'boot/firmware/gdo/bootstrap.json'), stateDir, config, root });
    const cfg = loadConfig(config);
    assert.equal(cfg.org, org.org);
    assert.equal(cfg.node.name, boot.node.name);
    assert.deepEqual(cfg.node.roles, boot.node.roles);
    assert.equal(cfg.state_dir, stateDir);
    assert.equal(cfg.sync.broker, boot.broker!.url);
    assert.equal(cfg.sync.password_file, join(stateDir, 'broker.pass'));
    assert.deepEqual(rolesOf(cfg), [], 'provisioned as a door, but no door is wired yet: the installer adds the door block');
  } finally {
    org.ledger.close();
  }
});
