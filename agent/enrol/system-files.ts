// The few system files first boot adjusts from the bootstrap, as pure text functions: /etc/hosts (Raspberry
// Pi OS names the host on a 127.0.1.1 line), a NetworkManager keyfile for Wi-Fi (Bookworm and later manage
// Wi-Fi with NetworkManager), and the Wi-Fi regulatory domain on the kernel command line (the Pi keeps Wi-Fi
// blocked until a country is set).

export function hostsWithName(current: string | undefined, hostname: string): string {
  const line = `127.0.1.1\t${hostname}`;
  if (current === undefined || current.trim() === '') return `127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n${line}\n`;
  const lines = current.replace(/\n$/, '').split('\n');
  const at = lines.findIndex((l) => /^127\.0\.1\.1\s/.test(l));
  if (at >= 0) lines[at] = line;
  else lines.push(line);
  return `${lines.join('\n')}\n`;
}

/** NetworkManager keyfile values: one line, with backslash, and a leading or trailing blank, escaped. */
function keyfileValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/^ /, '\\s').replace(/ $/, '\\s');
}

export function nmConnection(wifi: { ssid: string; psk: string }): string {
  return [
    '# Written by gdo first boot from the node\'s bootstrap (gdo provision --wifi-ssid).',
    '[connection]',
    'id=gdo-wifi',
    'type=wifi',
    'autoconnect=true',
    '',
    '[wifi]',
    'mode=infrastructure',
    `ssid=${keyfileValue(wifi.ssid)}`,
    '',
    '[wifi-security]',
    'key-mgmt=wpa-psk',
    `psk=${keyfileValue(wifi.psk)}`,
    '',
    '[ipv4]',
    'method=auto',
    '',
    '[ipv6]',
    'method=auto',
    '',
  ].join('\n');
}

/** cmdline.txt is one line of kernel arguments; replaces or adds cfg80211.ieee80211_regdom=CC. */
export function cmdlineWithRegdom(cmdline: string, country: string): string {
  const args = cmdline.trim().split(/\s+/).filter((a) => a !== '' && !a.startsWith('cfg80211.ieee80211_regdom='));
  args.push(`cfg80211.ieee80211_regdom=${country}`);
  return `${args.join(' ')}\n`;
}
