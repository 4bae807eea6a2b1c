#!/bin/sh
# Install the aggregator on Venus OS (Cerbo GX, Raspberry Pi) so that it survives firmware
# updates: everything lives in /data/aggregator (/data is kept, /opt and / are replaced), and
# /data/rc.local recreates the /service link at every boot.
#
#   sh install.sh              copy ./aggregator and the service next to this script into
#                              /data/aggregator; the first time write a commented config and
#                              stop (edit it, run again); then check it, hook rc.local and
#                              start the service
#   sh install.sh --boot       (from /data/rc.local) link /service/aggregator again
#   sh install.sh --uninstall  stop the service, remove the link and the rc.local hook
#                              (/data/aggregator with the config and state stays)
#
# AGGREGATOR_ROOT (default empty) prefixes every path, for tests.
set -eu
ROOT="${AGGREGATOR_ROOT:-}"
DEST="$ROOT/data/aggregator"
RC="$ROOT/data/rc.local"
LINK="$ROOT/service/aggregator"
HOOK="/data/aggregator/install.sh --boot"
SRC=$(cd "$(dirname "$0")" && pwd)

link_service() {
    [ -d "$ROOT/service" ] || { echo "install.sh: $ROOT/service does not exist (not Venus OS?)" >&2; exit 1; }
    ln -sfn "$DEST/service" "$LINK"
}

case "${1:-}" in
--boot)
    link_service
    exit 0
    ;;
--uninstall)
    if [ -e "$LINK" ] || [ -L "$LINK" ]; then
        svc -d "$LINK" 2>/dev/null || true
        rm -f "$LINK"
    fi
    if [ -f "$RC" ]; then
        grep -vxF "$HOOK" "$RC" > "$RC.tmp" || true
        cat "$RC.tmp" > "$RC" && rm -f "$RC.tmp"
    fi
    echo "aggregator uninstalled; $DEST (config, state) kept"
    exit 0
    ;;
"") ;;
*)
    echo "install.sh: unknown option '$1'; use no option, --boot or --uninstall" >&2
    exit 2
    ;;
esac

[ -x "$SRC/aggregator" ] || { echo "install.sh: put the aggregator binary next to this script ($SRC/aggregator)" >&2; exit 1; }
# Nothing is replaced unless the new binary runs here (the armv7 build on a Cerbo GX) and
# accepts the existing configuration: the running aggregate stays as it is otherwise.
if ! version=$("$SRC/aggregator" --version 2>&1); then
    echo "install.sh: $SRC/aggregator does not run on this machine ($(uname -m)): $version" >&2
    echo "install.sh: fix: copy the build for it (armv7l: armv7-unknown-linux-musleabihf, aarch64: aarch64-unknown-linux-musl); nothing was changed" >&2
    exit 1
fi
if [ -e "$DEST/aggregator.toml" ] && ! "$SRC/aggregator" --check-config "$DEST/aggregator.toml"; then
    echo "install.sh: fix $DEST/aggregator.toml (the lines above name the field), then run this again; nothing was changed" >&2
    exit 2
fi
mkdir -p "$DEST/service/log"
if [ "$SRC" != "$DEST" ]; then
    # Replace the binary through a rename so a running one is never overwritten in place.
    cp "$SRC/aggregator" "$DEST/aggregator.new" && mv -f "$DEST/aggregator.new" "$DEST/aggregator"
    cp "$SRC/install.sh" "$DEST/install.sh"
    cp "$SRC/service/run" "$DEST/service/run"
    cp "$SRC/service/log/run" "$DEST/service/log/run"
fi
chmod 755 "$DEST/aggregator" "$DEST/install.sh" "$DEST/service/run" "$DEST/service/log/run"
if [ ! -e "$DEST/aggregator.toml" ]; then
    "$DEST/aggregator" --init "$DEST/aggregator.toml"
    echo "wrote $DEST/aggregator.toml: edit it (keyword, device_instance), then run this again"
    exit 0
fi
if [ ! -f "$RC" ]; then
    printf '#!/bin/sh\n' > "$RC"
fi
grep -qxF "$HOOK" "$RC" || echo "$HOOK" >> "$RC"
chmod 755 "$RC"
link_service
echo "aggregator installed in $DEST; service $LINK (svstat $LINK)"
