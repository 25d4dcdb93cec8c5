#!/usr/bin/env bash
# virt-ovf quick start, "command one": on a fresh Debian 12 machine with Node.js 20, as root
# (or through sudo), install what virt-ovf needs, build it, generate the example appliance, and
# import + boot it in libvirt's embedded QEMU driver (qemu:///embed, no libvirt daemon needed).
#
#   scripts/quickstart.sh   (as root; run by another user it re-runs itself through sudo)
#
# Safe to rerun: apt is skipped when the packages are installed, and the embedded driver's root
# ($PWD/.quickstart/embed) is recreated each time.

set -Eeuo pipefail

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICKSTART_DIR="$PROJECT_DIR/.quickstart"
EMBED_ROOT="$QUICKSTART_DIR/embed"
EXAMPLE_DIR="$PROJECT_DIR/example"
TOTAL_STEPS=5
CURRENT_STEP="start-up"
STEP_STARTED=0
SCRIPT_STARTED=$(date +%s)

step() {
  CURRENT_STEP="$1/$TOTAL_STEPS $2"
  STEP_STARTED=$(date +%s)
  printf '\n==> [%s/%s] %s\n' "$1" "$TOTAL_STEPS" "$2"
}

step_done() {
  printf '    done in %ss\n' "$(($(date +%s) - STEP_STARTED))"
}

die() {
  printf '\nquickstart: error: %s\n' "$*" >&2
  exit 1
}

on_error() {
  local rc=$?
  printf '\nquickstart: FAILED in step %s (exit status %s)\n' "$CURRENT_STEP" "$rc" >&2
  exit "$rc"
}
trap on_error ERR

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "run this script as root (it installs system packages and starts QEMU guests)"
  echo "quickstart: not root; re-running through sudo"
  exec sudo -- env "PATH=$PATH" bash "${BASH_SOURCE[0]}" "$@"
fi

command -v node >/dev/null 2>&1 || die "Node.js 20 or later is required (node not found in PATH)"
command -v npm >/dev/null 2>&1 || die "npm is required (not found in PATH)"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js 20 or later is required (found $(node --version))"

cd "$PROJECT_DIR"
echo "virt-ovf quick start in $PROJECT_DIR (Node $(node --version))"

# ---------------------------------------------------------------------------------------------
step 1 "System packages (scripts/system-packages.sh)"
bash "$PROJECT_DIR/scripts/system-packages.sh"
for tool in qemu-img qemu-system-x86_64; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found after installing the packages"
done
step_done

# ---------------------------------------------------------------------------------------------
if [ -f package-lock.json ]; then
  step 2 "Node dependencies (npm ci)"
  npm ci --no-audit --no-fund
else
  step 2 "Node dependencies (npm install; there is no package-lock.json)"
  npm install --no-audit --no-fund
fi
step_done

# ---------------------------------------------------------------------------------------------
step 3 "Build (npm run build)"
npm run build
step_done

# ---------------------------------------------------------------------------------------------
step 4 "Example appliance ($EXAMPLE_DIR)"
OVA="$(node dist/scripts/make-example.js --dir "$EXAMPLE_DIR")"
[ -f "$OVA" ] || die "make-example did not produce an OVA (got: $OVA)"
echo "    $OVA"
step_done

# ---------------------------------------------------------------------------------------------
step 5 "Import and boot in libvirt's embedded driver (qemu:///embed?root=$EMBED_ROOT)"
# A guest of the embedded driver outlives the process that started it when that process is
# killed; stop any such leftover of an earlier run (by the pid in its pid file) before removing
# its root directory.
if [ -d "$EMBED_ROOT/run/qemu" ]; then
  for pidfile in "$EMBED_ROOT"/run/qemu/*.pid; do
    [ -f "$pidfile" ] && [ "$(basename "$pidfile")" != driver.pid ] || continue
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$EMBED_ROOT"; then
      echo "    stopping QEMU $pid left over from an earlier run"
      kill "$pid" 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
fi
rm -rf "$EMBED_ROOT"
mkdir -p "$QUICKSTART_DIR"
node dist/scripts/demo.js --ova "$OVA" --root "$EMBED_ROOT" --timeout 30
step_done

printf '\nQuick start finished in %ss. The imported disk, domain XML and serial log are under %s.\n' \
  "$(($(date +%s) - SCRIPT_STARTED))" "$EMBED_ROOT"
