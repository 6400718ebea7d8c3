#!/bin/sh
# Fills one model directory of the catalog, once.
#
# Idempotent: exits at once when DEST holds a completion marker whose key matches KEY (the
# pinned source and revision). Resumable: the downloaders keep finished files and continue
# partial ones (hf keeps *.incomplete chunks under DEST/.cache, rclone writes *.partial files
# and renames them when whole). The marker is written last, atomically, only after the
# downloader succeeded, so a failed or interrupted run leaves no marker and the next run
# continues where this one stopped.
#
# Environment:
#   SOURCE_URI    hf://org/name | s3://bucket/prefix | gs://bucket/prefix |
#                 az://account/container/prefix | pvc://claim/path
#   REVISION      pinned revision (hf); empty for object stores
#   DEST          directory to fill (for pvc://, the mounted source path to verify)
#   KEY           identity of source+revision recorded in the marker
#   WEIGHTS_FILE  optional single file to fetch (GGUF)
#   EXCLUDE       optional space-separated glob patterns not to fetch (hf)
#   MAX_WORKERS   parallel transfers (default 16)
#   HF_CLI_PACKAGE  pip requirement installed into TOOLS_DIR when `hf` is not on PATH
#   TOOLS_DIR     where to install it (default /tmp/tools)
#   MARKER_NAME   marker file name (default .catalog-complete.json)
# Globbing stays off: EXCLUDE patterns are passed to the downloader, not expanded here.
set -euf

: "${SOURCE_URI:?SOURCE_URI is required}"
: "${DEST:?DEST is required}"
: "${KEY:?KEY is required}"
REVISION="${REVISION:-}"
WEIGHTS_FILE="${WEIGHTS_FILE:-}"
EXCLUDE="${EXCLUDE:-}"
MAX_WORKERS="${MAX_WORKERS:-16}"
TOOLS_DIR="${TOOLS_DIR:-/tmp/tools}"
MARKER_NAME="${MARKER_NAME:-.catalog-complete.json}"
MARKER="$DEST/$MARKER_NAME"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

json_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

marker_matches() {
    [ -f "$MARKER" ] && grep -q "\"key\": \"$KEY\"" "$MARKER"
}

# Files and bytes under DEST, leaving out the downloader's own bookkeeping and the marker.
count_files() {
    find "$DEST" -type f ! -path '*/.cache/*' ! -name "$MARKER_NAME" ! -name "$MARKER_NAME.*" \
        ! -name '*.partial' -exec wc -c {} + \
        | awk '$2 != "total" { n++; b += $1 } END { printf "%d %.0f\n", n, b }'
}

write_marker() {
    set -- $(count_files)
    files="$1"
    bytes="$2"
    if [ "$files" -eq 0 ]; then
        log "no files under $DEST after the download; not marking it complete"
        return 1
    fi
    tmp="$MARKER.tmp.$$"
    cat > "$tmp" <<EOF
{
  "key": "$KEY",
  "source": "$(json_escape "$SOURCE_URI")",
  "revision": "$(json_escape "$REVISION")",
  "files": $files,
  "bytes": $bytes,
  "completed_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
EOF
    mv -f "$tmp" "$MARKER"
    log "complete: $files files, $bytes bytes in $DEST"
}

ensure_hf() {
    if command -v hf >/dev/null 2>&1; then
        return 0
    fi
    : "${HF_CLI_PACKAGE:?hf is not installed and HF_CLI_PACKAGE is not set}"
    log "installing $HF_CLI_PACKAGE into $TOOLS_DIR"
    python3 -m pip install --quiet --no-cache-dir --disable-pip-version-check --target "$TOOLS_DIR" "$HF_CLI_PACKAGE"
    PATH="$TOOLS_DIR/bin:$PATH"
    PYTHONPATH="$TOOLS_DIR${PYTHONPATH:+:$PYTHONPATH}"
    export PATH PYTHONPATH
}

download_hf() {
    repo="${SOURCE_URI#hf://}"
    ensure_hf
    set -- download "$repo" --local-dir "$DEST" --max-workers "$MAX_WORKERS"
    if [ -n "$REVISION" ]; then
        set -- "$@" --revision "$REVISION"
    fi
    if [ -n "$WEIGHTS_FILE" ]; then
        set -- "$@" "$WEIGHTS_FILE"
    else
        for pattern in $EXCLUDE; do
            set -- "$@" --exclude "$pattern"
        done
    fi
    log "hf $*"
    hf "$@"
}

download_object_store() {
    scheme="${SOURCE_URI%%://*}"
    path="${SOURCE_URI#*://}"
    case "$scheme" in
        s3) remote=":s3:$path" ;;
        gs) remote=":gcs:$path" ;;
        az)
            # az://account/container/prefix: the account is a backend option, not part of the path.
            RCLONE_AZUREBLOB_ACCOUNT="${path%%/*}"
            export RCLONE_AZUREBLOB_ACCOUNT
            remote=":azureblob:${path#*/}"
            ;;
    esac
    if [ -n "$WEIGHTS_FILE" ]; then
        set -- copy "$remote" "$DEST" --include "/$WEIGHTS_FILE"
    else
        set -- copy "$remote" "$DEST"
    fi
    set -- "$@" --transfers "$MAX_WORKERS" --multi-thread-streams 8
    log "rclone $*"
    rclone "$@"
}

verify_pvc() {
    target="$DEST"
    if [ -n "$WEIGHTS_FILE" ]; then
        target="$DEST/$WEIGHTS_FILE"
    fi
    if [ -d "$target" ] && [ -n "$(ls -A "$target")" ]; then
        log "found $target"
        return 0
    fi
    if [ -f "$target" ] && [ -s "$target" ]; then
        log "found $target"
        return 0
    fi
    log "missing or empty: $target (from $SOURCE_URI)"
    return 1
}

main() {
    case "$SOURCE_URI" in
        pvc://*)
            # The model already lives on its own claim, mounted read-only: nothing to fetch.
            verify_pvc
            return
            ;;
    esac
    if marker_matches; then
        log "already complete for $KEY: $DEST"
        return 0
    fi
    mkdir -p "$DEST"
    # A marker for another source or revision no longer describes what is being written.
    rm -f "$MARKER"
    case "$SOURCE_URI" in
        hf://*) download_hf ;;
        s3://* | gs://* | az://*) download_object_store ;;
        *)
            log "unsupported source: $SOURCE_URI"
            return 2
            ;;
    esac
    write_marker
}

main "$@"
