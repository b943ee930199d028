#!/bin/sh
# Runs a command where arm64 binaries execute under qemu-user, without touching the machine's own binfmt_misc:
# a child user + mount + pid namespace (identity uid/gid map, so files keep real owners) gets its own
# binfmt_misc instance (Linux 6.7 and later) with Debian's qemu-aarch64 registration. For containers where no
# systemd registers binfmt at boot; it needs root and qemu-user-static.
#
#   sudo test/image/arm64-binfmt-ns.sh env GDO_QEMU_BOOT=1 node --import tsx --test test/image/boot.test.ts
set -eu
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: needs root (it maps uids 0-65535 into the namespace)" >&2; exit 1; }
conf=/usr/lib/binfmt.d/qemu-aarch64.conf
[ -r "$conf" ] || { echo "$0: $conf missing (apt-get install qemu-user-static)" >&2; exit 1; }
go=$(mktemp -u "${TMPDIR:-/tmp}/gdo-binfmt-ns.XXXXXX")
unshare --user --mount --pid --fork --propagation private sh -c '
  while [ ! -e "$0" ]; do sleep 0.05; done
  mount -t proc proc /proc
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  cat "$1" > /proc/sys/fs/binfmt_misc/register
  shift
  exec "$@"' "$go" "$conf" "$@" &
pid=$!
# The maps can be written once unshare has entered the new user namespace.
while [ "$(readlink /proc/$pid/ns/user 2>/dev/null)" = "$(readlink /proc/self/ns/user)" ]; do sleep 0.05; done
echo '0 0 65536' > "/proc/$pid/uid_map"
echo '0 0 65536' > "/proc/$pid/gid_map"
touch "$go"
rc=0
wait "$pid" || rc=$?
rm -f "$go"
exit "$rc"
