#!/bin/sh
# Install the Debian packages fnbox needs to build and test, only those missing.
# Called by `make run`, `make test` and `make bench`; safe to run repeatedly.
set -eu

BUILD_PKGS="gcc make libc6-dev pkg-config libseccomp-dev libmsgpack-dev liblz4-dev libmicrohttpd-dev libjson-c-dev libarchive-dev libcap-dev"
# libFuzzer targets: Debian's clang and its compiler-rt (libclang_rt.fuzzer, ASan, UBSan).
FUZZ_PKGS="clang libclang-rt-dev"
# `make test` also replays the fuzz corpora (bounded), so it needs the fuzz toolchain too; the
# fnbox serve e2e test drives the server with curl, awscli and boto3; make loadtest uses wrk;
# the checkpoint e2e test saves a node program at its event loop's wait for stdin.
TEST_PKGS="busybox-static python3 procps curl awscli python3-boto3 zip wrk nodejs $FUZZ_PKGS"
BENCH_PKGS="runsc"

want="$BUILD_PKGS"
case "${1:-build}" in
    build) ;;
    test) want="$want $TEST_PKGS" ;;
    bench) want="$want $TEST_PKGS $BENCH_PKGS" ;;
    fuzz) want="$want $FUZZ_PKGS" ;;
    *) echo "usage: $0 [build|test|bench|fuzz]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "fnbox: missing packages:$missing (run as root, or install them with apt-get)" >&2
    exit 1
fi
echo "fnbox: installing missing packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || apt-get update
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
