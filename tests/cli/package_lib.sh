# Shared by the packaging tests (test_install.sh, test_deb.sh): one Release build
# of the tree, without tests and with prefix /usr as the Debian package has it, in
# <build>/package-release beside the tested binary ($EXECREC_BIN's directory). It is
# configured and built once and brought up to date by later runs (incremental);
# a lock serialises the tests that use it (ctest -j2), and each test's install or
# cpack step runs under the same lock (both stage files in the build tree). Not a
# test itself: tests/CMakeLists.txt registers only test_*.sh.
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh" # bin, src, fail, pass, check, cli_finish
release=${EXECREC_RELEASE_BUILD:-$(cd "$(dirname "$bin")" && pwd)/package-release}

# pkg_release CMD...: brings the Release build up to date, then runs CMD in it,
# both under the lock. Build output goes to $release.log (printed on failure).
pkg_release() {
    (
        flock 9 || exit 1
        if ! { cmake -S "$src" -B "$release" -DCMAKE_BUILD_TYPE=Release -DEXECREC_TESTS=OFF \
                   -DEXECREC_SANITIZE=OFF -DCMAKE_INSTALL_PREFIX=/usr &&
               cmake --build "$release" -j2; } >"$release.log" 2>&1; then
            echo "FAIL: the Release build in $release failed:" >&2
            tail -n 40 "$release.log" >&2
            exit 1
        fi
        cd "$release" && "$@"
    ) 9>"$release.lock"
}
