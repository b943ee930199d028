#!/bin/sh
# Installs gdo on a Raspberry Pi that already runs Raspberry Pi OS (Bookworm or later, 64-bit), for spaces that
# don't reflash their cards. gdo comes out of a built gdo image (gdo image build): /opt/gdo, the systemd units
# and the /etc/gdo defaults are read from the image's root filesystem with debugfs (e2fsprogs, always present
# on Raspberry Pi OS), so the installed files are byte for byte those of the image. With --bootstrap, the
# node's bootstrap (gdo provision --target DIR, or a copy of one) goes to /boot/firmware/gdo/bootstrap.json
# (mode 0600) and first boot runs at once; the node then waits for an admin to approve it.
#
#   sudo sh install.sh --image gdo.img [--bootstrap bootstrap.json] [--no-start]
#   sh install.sh --image gdo.img --root DIR --no-start     (into a mounted root; used by the tests)
set -eu

IMAGE=''
BOOTSTRAP=''
ROOT='/'
START=1

die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --image) [ $# -ge 2 ] || die '--image needs a file'; IMAGE=$2; shift 2 ;;
    --bootstrap) [ $# -ge 2 ] || die '--bootstrap needs a file'; BOOTSTRAP=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || die '--root needs a directory'; ROOT=$2; shift 2 ;;
    --no-start) START=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[ -n "$IMAGE" ] || die 'missing --image FILE (a gdo image from gdo image build; not .xz: decompress it first)'
[ -f "$IMAGE" ] || die "image $IMAGE does not exist"
case "$IMAGE" in *.xz) die "$IMAGE is compressed: run xz -dk $IMAGE and pass the .img" ;; esac
[ -d "$ROOT" ] || die "--root $ROOT is not a directory"
R=${ROOT%/}
if [ -z "$R" ]; then
  [ "$(id -u)" = 0 ] || die 'run as root (sudo sh install.sh ...)'
  arch=$(uname -m)
  [ "$arch" = aarch64 ] || die "gdo ships an arm64 Node runtime; this system is $arch (use 64-bit Raspberry Pi OS on a Pi 3, 4, 5 or Zero 2)"
fi
command -v debugfs >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
command -v debugfs >/dev/null 2>&1 || die 'debugfs is missing (apt-get install e2fsprogs)'
if [ -n "$BOOTSTRAP" ]; then
  [ -f "$BOOTSTRAP" ] || die "bootstrap $BOOTSTRAP does not exist"
  [ -d "$R/boot/firmware" ] || die "$R/boot/firmware does not exist: not Raspberry Pi OS Bookworm or later"
fi

# The MBR (docs/design-notes.md): boot signature 55 aa at byte 510; partition 2's entry at 462: type at +4, start LBA at +8.
sig=$(od -An -tx1 -j510 -N2 "$IMAGE" 2>/dev/null | tr -d ' \n')
[ "$sig" = 55aa ] || die "$IMAGE has no MBR partition table: not a gdo image"
ptype=$(od -An -tx1 -j466 -N1 "$IMAGE" | tr -d ' \n')
[ "$ptype" = 83 ] || die "$IMAGE: partition 2 is not a Linux partition (type $ptype): not a gdo image"
start=$(od -An -tu4 -j470 -N4 "$IMAGE" | tr -d ' \n')
ROOTFS="$IMAGE?offset=$((start * 512))"

mkdir -p "$R/opt"
STAGE=$(mktemp -d "$R/opt/.gdo-install.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT INT TERM
# debugfs reports a missing path on stderr and still exits 0: the checks below are what tell.
debugfs -R "rdump /opt/gdo $STAGE" "$ROOTFS" 2>"$STAGE/debugfs.log" || die "debugfs cannot read the root filesystem of $IMAGE: $(tail -n 1 "$STAGE/debugfs.log")"
[ -x "$STAGE/gdo/bin/gdo" ] && [ -f "$STAGE/gdo/build.json" ] || die "$IMAGE has no /opt/gdo: not a gdo image (build one with gdo image build)"
for f in /usr/lib/systemd/system/gdo-agent.service /usr/lib/systemd/system/gdo-firstboot.service /etc/gdo/agent.json /etc/gdo/site.json; do
  debugfs -R "dump -p $f $STAGE/$(basename "$f")" "$ROOTFS" 2>>"$STAGE/debugfs.log" || true
done
[ -s "$STAGE/gdo-agent.service" ] && [ -s "$STAGE/gdo-firstboot.service" ] || die "$IMAGE lacks the gdo systemd units"

# /opt/gdo is replaced whole: the new tree is complete on the same filesystem before the swap.
if [ -e "$R/opt/gdo" ]; then mv "$R/opt/gdo" "$STAGE/old"; fi
if ! mv "$STAGE/gdo" "$R/opt/gdo"; then
  if [ -e "$STAGE/old" ]; then mv "$STAGE/old" "$R/opt/gdo"; fi
  die "could not move the new /opt/gdo into place; the old one is kept"
fi
mkdir -p "$R/usr/lib/systemd/system" "$R/etc/systemd/system/multi-user.target.wants" "$R/usr/local/bin" "$R/etc/gdo"
for u in gdo-agent.service gdo-firstboot.service; do
  install -m 0644 "$STAGE/$u" "$R/usr/lib/systemd/system/$u"
  ln -sfn "/usr/lib/systemd/system/$u" "$R/etc/systemd/system/multi-user.target.wants/$u"
done
ln -sfn /opt/gdo/bin/gdo "$R/usr/local/bin/gdo"
# The node's own configuration (first boot rewrites agent.json) is kept on an upgrade.
[ -e "$R/etc/gdo/agent.json" ] || install -m 0644 "$STAGE/agent.json" "$R/etc/gdo/agent.json"
if [ -s "$STAGE/site.json" ] && [ ! -e "$R/etc/gdo/site.json" ]; then install -m 0644 "$STAGE/site.json" "$R/etc/gdo/site.json"; fi
if [ -n "$BOOTSTRAP" ]; then
  mkdir -p "$R/boot/firmware/gdo"
  install -m 0600 "$BOOTSTRAP" "$R/boot/firmware/gdo/bootstrap.json"
fi
printf 'install.sh: installed gdo %s into %s\n' "$(sed -n 's/.*"node": *"\([^"]*\)".*/node \1/p' "$R/opt/gdo/build.json")" "${ROOT}"

if [ "$START" = 1 ] && [ -z "$R" ]; then
  systemctl daemon-reload
  # The unit's conditions decide whether there is a first boot to run (a bootstrap, or one unfinished).
  systemctl start gdo-firstboot.service
  systemctl restart gdo-agent.service
  printf 'install.sh: started; the node waits for approval: gdo node approve NAME --request FILE on the admin machine\n'
fi
