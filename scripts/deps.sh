#!/bin/sh
# Install the Debian packages the build, the tests or the demo need, when they are missing.
# Usage: scripts/deps.sh build|check|demo
set -eu
need="meson ninja-build pkg-config gcc libc6-dev python3"
case "${1:-build}" in
check) need="$need clang llvm libclang-rt-14-dev attr acl e2fsprogs util-linux procps psmisc clang-format mingw-w64-x86-64-dev cmake" ;;
demo) need="$need attr procps util-linux" ;;
esac
missing=""
for p in $need; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing missing Debian packages:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: need root to install packages (run as root, or install:$missing)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
