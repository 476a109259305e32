#!/usr/bin/env bash
# Builds the local-vm guest image from Debian packages and the host's Node:
#
#   infra/guest/build.sh [--print-key]
#
#   .data/guest/<key>/vmlinuz    Debian's cloud kernel (linux-image-cloud-amd64's current version)
#   .data/guest/<key>/initrd.gz  busybox-static, the virtio modules the boot needs, infra/guest/init
#   .data/guest/<key>/root.ext4  read-only disk: the host's node (stripped) and its libraries, every
#                                module of the kernel, the tools infra/guest/tools.txt lists, and the
#                                native runtime's shim (/usr/libexec/berth/berth-shim) when its source is here
#   .data/guest/current -> <key> what the local-vm provider boots (LOCAL_VM_IMAGE_DIR)
#
# <key> hashes every input (this directory's files, the package versions apt would fetch, the node
# binary, the tool list infra/guest/tools.txt): the same inputs give the same key and
# the image is not built again; a changed input builds a new one (older ones are removed). The
# outputs are byte-reproducible: fixed timestamps, sorted archives, a fixed file system UUID.
# Needs root, apt-get, dpkg, cpio, gzip, kmod (depmod, modprobe), e2fsprogs (mke2fs), binutils (strip),
# gcc and libc6-dev (the native runtime's shim, when its source is in the tree);
# infra/services.sh up installs them and runs this.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
SRC=$ROOT/infra/guest
OUT_BASE=${BERTH_GUEST_DIR:-$ROOT/.data/guest}
DEBS=$OUT_BASE/debs
NODE_BIN=$(readlink -f "$(command -v node)")
# The native runtime's process shim (C, built static here: it needs no library in the guest).
SHIM_SRC=$ROOT/apps/node-agent/src/runtime/native/shim
EPOCH=1700000000 # every file's mtime, for byte-identical outputs
UUID=6f1e1a5e-b3c0-4e7a-9a51-000000000001

say() { printf 'guest: %s\n' "$*" >&2; }
die() {
  printf 'guest: error: %s\n' "$*" >&2
  exit 1
}

# The versions apt would fetch now: the kernel behind the cloud meta-package, busybox, and the
# packages of the tools listed in tools.txt.
kernel_package() {
  apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'
}
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/{print $2; exit}'; }

# tools.txt: one command a line (`#` comments), optionally followed by its Debian package when the
# host does not have the command installed; prints "command package" pairs.
tool_packages() {
  local cmd pkg path
  [[ -f $SRC/tools.txt ]] || return 0
  while read -r cmd pkg _; do
    [[ -z $cmd || $cmd == \#* ]] && continue
    if [[ -z ${pkg:-} ]]; then
      path=$(command -v "$cmd" 2>/dev/null) || die "tools.txt: $cmd is not installed here; name its Debian package after it"
      pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1) ||
        die "tools.txt: no Debian package owns $path"
    fi
    printf '%s %s\n' "$cmd" "$pkg"
  done <"$SRC/tools.txt"
}

KERNEL_PKG=$(kernel_package)
if [[ -z $KERNEL_PKG ]]; then # a fresh machine's apt lists may be empty
  apt-get update -q >/dev/null 2>&1 || true
  KERNEL_PKG=$(kernel_package)
fi
[[ -n $KERNEL_PKG ]] || die "apt-cache knows no linux-image-cloud-amd64 (is Debian's archive reachable?)"
mapfile -t TOOLS < <(tool_packages)
PACKAGES=("$KERNEL_PKG" busybox-static)
for t in "${TOOLS[@]}"; do PACKAGES+=("${t#* }"); done
mapfile -t PACKAGES < <(printf '%s\n' "${PACKAGES[@]}" | sort -u)
PINNED=()
for p in "${PACKAGES[@]}"; do
  v=$(candidate "$p")
  [[ -n $v && $v != "(none)" ]] || die "apt-cache has no candidate for $p"
  PINNED+=("$p=$v")
done

KEY=$({
  (cd "$SRC" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  printf '%s\n' "${PINNED[@]}"
  sha256sum <"$NODE_BIN"
  if [[ -d $SHIM_SRC ]]; then (cd "$SHIM_SRC" && find . -type f -print0 | sort -z | xargs -0 sha256sum); fi
} | sha256sum | cut -c1-16)

if [[ ${1:-} == --print-key ]]; then
  echo "$KEY"
  exit 0
fi
OUT=$OUT_BASE/$KEY
if [[ -f $OUT/image.json ]]; then
  ln -sfn "$KEY" "$OUT_BASE/current"
  echo "$OUT"
  exit 0
fi

started=$(date +%s%N)
say "building guest image $KEY (${PINNED[*]}) ..."
mkdir -p "$DEBS"
WORK=$(mktemp -d "$OUT_BASE/.build-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
(cd "$DEBS" && apt-get download -q "${PINNED[@]}" >/dev/null 2>&1) ||
  (cd "$DEBS" && apt-get download "${PINNED[@]}") || die "apt-get download ${PINNED[*]} failed"
deb_of() { ls "$DEBS/${1}_"*"$(printf '%s' "$2" | sed 's/:/%3a/')"_*.deb 2>/dev/null | head -1; }
X=$WORK/x
mkdir -p "$X"
for pv in "${PINNED[@]}"; do
  f=$(deb_of "${pv%%=*}" "${pv#*=}")
  [[ -n $f ]] || die "no .deb for $pv in $DEBS"
  dpkg -x "$f" "$X"
done
KVER=$(ls "$X/lib/modules")
depmod -b "$X" "$KVER"

# --- the read-only disk -------------------------------------------------------------------------
DISK=$WORK/disk
mkdir -p "$DISK/usr/bin" "$DISK/usr/sbin" "$DISK/usr/lib/x86_64-linux-gnu" "$DISK/usr/lib64" "$DISK/etc"
ln -s usr/lib "$DISK/lib"
ln -s usr/lib64 "$DISK/lib64"
cp -a "$X/lib/modules" "$DISK/usr/lib/"
cp "$NODE_BIN" "$DISK/usr/bin/node"
strip "$DISK/usr/bin/node"

# A binary's libraries as the host's loader resolves them, from the extracted packages first.
copy_libs() {
  local lib real
  while read -r lib; do
    [[ -z $lib ]] && continue
    real=$(readlink -f "$lib")
    case $lib in
    */ld-linux-x86-64.so.2) cp -L "$real" "$DISK/usr/lib64/ld-linux-x86-64.so.2" ;;
    *) [[ -e $DISK/usr/lib/x86_64-linux-gnu/${lib##*/} ]] || cp -L "$real" "$DISK/usr/lib/x86_64-linux-gnu/${lib##*/}" ;;
    esac
  done < <(LD_LIBRARY_PATH=$X/usr/lib/x86_64-linux-gnu:$X/lib/x86_64-linux-gnu ldd "$1" 2>/dev/null |
    awk '/=> \//{print $3} /^\t\/lib64/{print $1}')
}
copy_libs "$NODE_BIN"

# Where a host path goes on the disk (merged /usr: /bin and /sbin are /usr's).
on_disk() { case $1 in /usr/*) echo "$DISK$1" ;; *) echo "$DISK/usr$1" ;; esac; }

# Each listed tool: its file from the extracted package (following the package's own symlinks, or
# the host's alternatives link to a file of the package), at the path the host has it.
for t in "${TOOLS[@]}"; do
  cmd=${t%% *}
  hostpath=$(command -v "$cmd" 2>/dev/null || true)
  if [[ -n $hostpath ]]; then
    real=$(readlink -f "$hostpath")
  else
    real=$(cd "$X" && find usr/bin usr/sbin bin sbin -name "$cmd" 2>/dev/null | head -1)
    [[ -n $real ]] || die "tools.txt: package ${t#* } has no $cmd"
    real=/$real hostpath=/usr/bin/$cmd
  fi
  # Merged /usr on the host: the package may ship /bin/ip for the host's /usr/bin/ip, or the reverse.
  for alt in "$real" "${real#/usr}" "/usr$real"; do
    if [[ -e $X$alt ]]; then
      real=$alt
      break
    fi
  done
  [[ -e $X$real ]] || die "tools.txt: $real (for $cmd) is not in package ${t#* }"
  dest=$(on_disk "$hostpath") realdest=$(on_disk "$real")
  mkdir -p "$(dirname "$dest")" "$(dirname "$realdest")"
  cp -L "$X$real" "$realdest"
  [[ $realdest == "$dest" ]] || ln -sfn "$(realpath --relative-to="$(dirname "$dest")" "$realdest")" "$dest"
  copy_libs "$X$real"
done
# Plugins some tools load at run time (iptables' xtables extensions).
if [[ -d $X/usr/lib/x86_64-linux-gnu/xtables ]]; then
  cp -a "$X/usr/lib/x86_64-linux-gnu/xtables" "$DISK/usr/lib/x86_64-linux-gnu/"
  for so in "$DISK"/usr/lib/x86_64-linux-gnu/xtables/*.so; do copy_libs "$so"; done
fi
if [[ -d $SHIM_SRC ]]; then
  mkdir -p "$DISK/usr/libexec/berth"
  gcc -O2 -static -o "$DISK/usr/libexec/berth/berth-shim" "$SHIM_SRC"/*.c || die "could not build berth-shim"
  strip "$DISK/usr/libexec/berth/berth-shim"
fi
ldconfig -r "$DISK" -C /etc/ld.so.cache 2>/dev/null || true

# --- the initramfs ------------------------------------------------------------------------------
INITRD=$WORK/initrd
mkdir -p "$INITRD"/{bin,sbin,etc,proc,sys,dev,run,tmp,sysroot,config,boot-modules,var/lib,opt,root,mnt}
cp "$X/bin/busybox" "$INITRD/bin/busybox"
for applet in $("$INITRD/bin/busybox" --list-full); do
  [[ -e $INITRD/$applet ]] || { mkdir -p "$INITRD/$(dirname "$applet")" && ln -s /bin/busybox "$INITRD/$applet"; }
done
# usr/ comes from the disk at boot; busybox's usr/ applets go to bin/ and sbin/.
for d in bin sbin; do
  if [[ -d $INITRD/usr/$d ]]; then
    for f in "$INITRD/usr/$d"/*; do [[ -e $INITRD/$d/${f##*/} ]] || mv "$f" "$INITRD/$d/"; done
  fi
done
rm -rf "$INITRD/usr"
: >"$INITRD/etc/boot-modules"
for m in virtio_pci virtio_blk virtio_net; do
  modprobe -d "$X" -S "$KVER" --show-depends "$m" | awk '{print $2}' | while read -r ko; do
    name=${ko##*/}
    grep -qx "$name" "$INITRD/etc/boot-modules" && continue
    cp "$ko" "$INITRD/boot-modules/$name"
    echo "$name" >>"$INITRD/etc/boot-modules"
  done
done
cp "$SRC/init" "$INITRD/init"
chmod 755 "$INITRD/init"
echo "$KVER" >"$INITRD/etc/kernel-version"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$INITRD/etc/passwd"
printf 'root:x:0:\n' >"$INITRD/etc/group"

mkdir -p "$WORK/out"
find "$INITRD" "$DISK" -exec touch -h -d "@$EPOCH" {} +
(cd "$INITRD" && find . -print0 | LC_ALL=C sort -z | cpio --null --reproducible -o -H newc --quiet -R 0:0) |
  gzip -9 -n >"$WORK/out/initrd.gz"
cp "$X/boot/vmlinuz-$KVER" "$WORK/out/vmlinuz"
size_mb=$(($(du -sm "$DISK" | cut -f1) * 115 / 100 + 16))
E2FSPROGS_FAKE_TIME=$EPOCH mke2fs -q -t ext4 -U "$UUID" -E "hash_seed=$UUID,root_owner=0:0" -L berth-root \
  -d "$DISK" "$WORK/out/root.ext4" "${size_mb}M" >/dev/null
# mke2fs copies each file's ctime and atime (which reading them moved), and stamps lost+found with
# the clock: all set to EPOCH in the image.
{
  for f in / /lost+found $(cd "$DISK" && find . -mindepth 1 | LC_ALL=C sort | cut -c2-); do
    for field in ctime atime mtime crtime; do echo "sif \"$f\" $field @$EPOCH"; done
  done
} >"$WORK/ctimes"
E2FSPROGS_FAKE_TIME=$EPOCH debugfs -w -f "$WORK/ctimes" "$WORK/out/root.ext4" >/dev/null 2>&1 ||
  die "debugfs could not set the image's ctimes"
cat >"$WORK/out/image.json" <<JSON
{"key":"$KEY","kernel":"$KVER","packages":[$(printf '"%s",' "${PINNED[@]}" | sed 's/,$//')],
 "node":"$("$NODE_BIN" --version)","tools":[$(for t in "${TOOLS[@]}"; do printf '"%s",' "${t%% *}"; done | sed 's/,$//')]}
JSON
rm -rf "$OUT"
mv "$WORK/out" "$OUT"
ln -sfn "$KEY" "$OUT_BASE/current"
# Older images go (a VM running from one keeps its files open).
for old in "$OUT_BASE"/*/; do
  old=${old%/}
  case ${old##*/} in "$KEY" | debs | current) ;; *) rm -rf "$old" ;; esac
done
find "$DEBS" -name '*.deb' -mtime +30 -delete 2>/dev/null || true
say "built in $((($(date +%s%N) - started) / 1000000)) ms: $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
