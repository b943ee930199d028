// The systemd units baked into the image: the safety properties docs/design-notes.md and docs/design-notes.md ask for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function unit(name: string): Map<string, string[]> {
  const text = readFileSync(fileURLToPath(new URL(`../../provisioning/units/${name}`, import.meta.url)), 'utf8');
  const keys = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) { section = sec[1] ?? ''; continue; }
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `${name}: '${line}' is not key=value`);
    const key = `${section}.${line.slice(0, eq)}`;
    keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1)]);
  }
  return keys;
}

describe('systemd units', () => {
  it('gdo-agent: notify + watchdog, always restarted, outputs forced safe after every stop', () => {
    const u = unit('gdo-agent.service');
    assert.deepEqual(u.get('Service.Type'), ['notify']);
    assert.match(u.get('Service.WatchdogSec')?.[0] ?? '', /^\d+s?$/);
    assert.deepEqual(u.get('Service.Restart'), ['always']);
    assert.deepEqual(u.get('Service.ExecStopPost'), ['/opt/gdo/bin/gdo gpio safe']);
    assert.deepEqual(u.get('Service.ExecStartPre'), ['/opt/gdo/bin/gdo gpio safe']);
    assert.match(u.get('Unit.After')?.[0] ?? '', /gdo-firstboot\.service/);
    assert.deepEqual(u.get('Install.WantedBy'), ['multi-user.target']);
  });

  it('gdo-firstboot: a oneshot before the agent, while a bootstrap sits on the boot partition or a first boot is unfinished', () => {
    const u = unit('gdo-firstboot.service');
    assert.deepEqual(u.get('Service.Type'), ['oneshot']);
    assert.deepEqual(u.get('Unit.Before')?.[0]?.split(' ').sort(), ['NetworkManager.service', 'gdo-agent.service']);
    // '|' makes them triggering conditions: either file is enough (systemd.unit(5)).
    assert.deepEqual(u.get('Unit.ConditionPathExists'), ['|/boot/firmware/gdo/bootstrap.json', '|/var/lib/gdo/firstboot.pending']);
    assert.match(u.get('Service.ExecStart')?.[0] ?? '', /gdo firstboot --bootstrap \/boot\/firmware\/gdo\/bootstrap\.json --state \/var\/lib\/gdo$/);
    assert.deepEqual(u.get('Service.UMask'), ['0077']);
    assert.deepEqual(u.get('Install.WantedBy'), ['multi-user.target']);
  });
});
