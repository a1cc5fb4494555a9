#!/bin/sh
# Installs egresswatch as a systemd service. Idempotent: run it again after a rebuild or an
# upgrade; it never overwrites an existing /etc/egresswatch/egresswatch.yaml and never
# removes the user, the baseline or the alerts.
#
#   sudo scripts/install-systemd.sh [--root DIR] [--app-dir DIR] [--link] [--no-systemctl] [--start]
#
#   --root DIR      install under DIR instead of / (a staging root, image build or test).
#                   The egresswatch user is still created on the running system.
#   --app-dir DIR   where the app lives on the target (default /opt/egresswatch). When DIR is
#                   the checkout itself, nothing is copied and the unit runs the checkout
#                   (even with --root).
#   --link          make the app dir a symlink to this checkout instead of a copy.
#   --no-systemctl  do not call systemctl at all.
#   --start         also (re)start the service when systemd is running.
#
# Needs a built checkout (npm ci && npm run build): dist/agent/cli.js and node_modules/.
set -eu

NAME=egresswatch
SRC=$(cd "$(dirname "$0")/.." && pwd -P)
ROOT=/
APP_DIR=/opt/$NAME
LINK=no
SYSTEMCTL=yes
START=no

say() { printf '%s\n' "install-systemd: $*"; }
die() { printf '%s\n' "install-systemd: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
    --app-dir) [ $# -ge 2 ] || die "--app-dir needs a directory"; APP_DIR=$2; shift 2 ;;
    --link) LINK=yes; shift ;;
    --no-systemctl) SYSTEMCTL=no; shift ;;
    --start) START=yes; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (it creates a system user and writes under /etc)"
case "$APP_DIR" in /*) ;; *) die "--app-dir must be absolute, got '$APP_DIR'" ;; esac
[ -f "$SRC/dist/agent/cli.js" ] || die "$SRC/dist/agent/cli.js is missing: run 'npm ci && npm run build' first"
[ -d "$SRC/node_modules" ] || die "$SRC/node_modules is missing: run 'npm ci' first"
NODE=$(command -v node) || die "node is not on PATH (Node.js >= 20.19 is needed)"
NODE=$(readlink -f "$NODE")
mkdir -p "$ROOT"
ROOT=$(cd "$ROOT" && pwd -P)
# $R is prefixed to every target path; empty for the real root so paths print as /etc/...
R=${ROOT%/}

# --- user and group (on the running system, even with --root) ---------------------------
NOLOGIN=/usr/sbin/nologin
[ -x "$NOLOGIN" ] || NOLOGIN=/bin/false
if ! getent group "$NAME" >/dev/null; then
  groupadd --system "$NAME"
  say "created group $NAME"
fi
if ! getent passwd "$NAME" >/dev/null; then
  useradd --system --gid "$NAME" --no-create-home --home-dir "/var/lib/$NAME" \
    --shell "$NOLOGIN" --comment "egresswatch agent" "$NAME"
  say "created system user $NAME"
fi

# --- the app ----------------------------------------------------------------------------
copy_app() {
  # Stage a fresh copy beside the target and swap it in, so files a new version dropped do
  # not linger and a failed copy leaves the old version running.
  dest=$R$APP_DIR
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest.new" "$dest.old"
  mkdir "$dest.new"
  cp -a "$SRC/dist" "$SRC/node_modules" "$SRC/package.json" "$dest.new/"
  # The compiled tests and benchmarks are not part of the running agent.
  rm -rf "$dest.new/dist/test" "$dest.new/dist/bench"
  for f in README.md LICENSE docs deploy/egresswatch.example.yaml; do
    [ -e "$SRC/$f" ] || continue
    mkdir -p "$dest.new/$(dirname "$f")"
    cp -a "$SRC/$f" "$dest.new/$f"
  done
  if [ -e "$dest" ] || [ -L "$dest" ]; then mv "$dest" "$dest.old"; fi
  mv "$dest.new" "$dest"
  rm -rf "$dest.old"
  chown -R root:root "$dest"
  chmod -R go-w "$dest"
  say "copied the app to $dest"
}

if [ "$APP_DIR" = "$SRC" ]; then
  say "running the checkout in place: $SRC"
elif [ "$LINK" = yes ]; then
  dest=$R$APP_DIR
  mkdir -p "$(dirname "$dest")"
  if [ -L "$dest" ]; then rm "$dest"; elif [ -e "$dest" ]; then die "$dest exists and is not a symlink; remove it or drop --link"; fi
  ln -s "$SRC" "$dest"
  say "linked $dest -> $SRC"
else
  copy_app
fi

# --- unit, config, directories --------------------------------------------------------
UNIT=$R/etc/systemd/system/$NAME.service
mkdir -p "$R/etc/systemd/system"
sed -e "s#/opt/$NAME#$APP_DIR#g" -e "s#/usr/bin/node #$NODE #" "$SRC/systemd/$NAME.service" >"$UNIT.tmp"
chmod 0644 "$UNIT.tmp"
mv "$UNIT.tmp" "$UNIT"
say "installed $UNIT"

install -d -m 0750 -o root -g "$NAME" "$R/etc/$NAME"
CONF=$R/etc/$NAME/$NAME.yaml
if [ -e "$CONF" ]; then
  say "kept the existing $CONF"
else
  install -m 0640 -o root -g "$NAME" "$SRC/deploy/$NAME.example.yaml" "$CONF"
  say "installed the default config $CONF"
fi

# systemd creates these at start (StateDirectory=, LogsDirectory=); made here as well so a
# manual run as the user works too.
install -d -m 0750 -o "$NAME" -g "$NAME" "$R/var/lib/$NAME" "$R/var/log/$NAME"
# logrotate: its `create` makes the new files owned by the unit's User= (else the agent cannot
# open them after the first rotation and writes on into the renamed file), group adm for log
# readers, or the service's own group where there is no adm. Installed even before logrotate is.
LOGROTATE_GROUP=adm
getent group adm >/dev/null || LOGROTATE_GROUP=$NAME
install -d -m 0755 "$R/etc/logrotate.d"
sed -e "s#^\( *create 0640 $NAME\) adm\$#\1 $LOGROTATE_GROUP#" "$SRC/deploy/logrotate/$NAME" >"$R/etc/logrotate.d/$NAME.tmp"
chmod 0644 "$R/etc/logrotate.d/$NAME.tmp"
mv "$R/etc/logrotate.d/$NAME.tmp" "$R/etc/logrotate.d/$NAME"
say "installed $R/etc/logrotate.d/$NAME (create 0640 $NAME $LOGROTATE_GROUP)"
command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || say "logrotate is not installed: the stanza waits for it"

# --- systemd ----------------------------------------------------------------------------
if [ "$SYSTEMCTL" = no ]; then
  say "skipped systemctl (--no-systemctl)"
elif ! command -v systemctl >/dev/null 2>&1; then
  say "systemctl not found: enable the service with your init system"
elif [ "$ROOT" != / ]; then
  # Offline: creates the WantedBy= symlink inside the staging root only.
  systemctl --root="$ROOT" enable "$NAME.service"
  say "enabled $NAME.service under $ROOT"
elif [ ! -d /run/systemd/system ]; then
  say "systemd is not running on this machine: skipped daemon-reload and enable"
  say "to run it without systemd, see docs/install.md (it needs the four capabilities)"
else
  systemctl daemon-reload
  systemctl enable "$NAME.service"
  if [ "$START" = yes ]; then systemctl restart "$NAME.service"; fi
  say "enabled $NAME.service; start it with: systemctl start $NAME"
fi
