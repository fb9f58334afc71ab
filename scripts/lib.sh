# Shared by scripts/up and scripts/test: root and apt helpers, and the project's virtualenv.
# Source it from the repository root.

# Run a command as root: directly, through passwordless sudo, or not at all (returns 1).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo "$@"
    else
        return 1
    fi
}

can_apt() {
    command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }
}

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@"
}

# Create .venv with Python 3.11+, installing Debian's python3-venv first when it is missing.
ensure_venv() {
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "error: Python 3.11+ is required (found $(python3 --version 2>&1))" >&2
        exit 1
    }
    [ -x .venv/bin/python ] && return 0
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        if can_apt; then
            apt_install python3-venv
        else
            echo "error: the python3 venv module is missing; install python3-venv" >&2
            exit 1
        fi
    fi
    rm -rf .venv
    python3 -m venv .venv
}
