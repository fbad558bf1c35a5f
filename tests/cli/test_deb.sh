#!/usr/bin/env bash
# The Debian packages built from the tree with CPack (cmake/package.cmake, from the
# Release build of package_lib.sh): execrec and execrec-dev. Checks their control
# data (Depends covers every shared library the binary needs, the conffile, the
# maintainer scripts), their contents, and that the unpacked binary runs: `dpkg-deb
# -x` into a scratch root, then --help, --version and the man page from there, and a
# program linked against the unpacked library. The packages are not installed
# (dpkg -i would change this machine): postinst's adduser is checked as text only.
source "$(dirname "$0")/package_lib.sh"
cli_scratch execrec_deb
pkgdir=$tmp/pkg
root=$tmp/root
version=$(sed -n 's/^project(execrec VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)

pkg_release cpack -G DEB -B "$pkgdir" >"$tmp/cpack.log" 2>&1 ||
    { fail "cpack -G DEB failed: $(tail -n 30 "$tmp/cpack.log")"; cli_finish; exit 1; }
deb=$pkgdir/execrec_${version}_$arch.deb
dev=$pkgdir/execrec-dev_${version}_$arch.deb
check "$(cd "$pkgdir" && ls -- *.deb | tr '\n' ' ')" \
    "execrec-dev_${version}_$arch.deb execrec_${version}_$arch.deb " "the packages built"
[ -f "$deb" ] && [ -f "$dev" ] || { cli_finish; exit 1; }

field() { dpkg-deb --field "$1" "$2"; }
check "$(field "$deb" Package) $(field "$deb" Version) $(field "$deb" Architecture)" \
    "execrec $version $arch" "execrec: Package Version Architecture"
check "$(field "$dev" Package) $(field "$dev" Section)" "execrec-dev libdevel" "execrec-dev: Package Section"

# Depends: adduser (postinst), and for every shared library the binary needs, the
# package that holds it on this machine (as dpkg-shlibdeps found it).
depends=$(field "$deb" Depends)
echo "execrec Depends: $depends"
has_dep() { # list package what
    case ", $1, " in
    *", $2, "* | *", $2 ("*) pass ;;
    *) fail "$3: $2 is not in Depends: $1" ;;
    esac
}
has_dep "$depends" adduser "execrec Depends"
unpacked=$tmp/unpacked-bin
mkdir -p "$unpacked" && dpkg-deb -x "$deb" "$unpacked"
needed=$(readelf -d "$unpacked/usr/bin/execrec" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ "$(echo "$needed" | wc -l)" -ge 6 ] && pass || fail "readelf found only: $needed"
for lib in $needed; do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|64bit/ {print $NF; exit}')
    [ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
    owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
    [ -n "$owner" ] || owner=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
    if [ -z "$owner" ]; then fail "no package owns $lib ($path)"; continue; fi
    has_dep "$depends" "$owner" "execrec Depends ($lib)"
done
for p in librdkafka1 libpq5 libavro23 libjansson4 libcurl4 libc6; do
    has_dep "$depends" "$p" "execrec Depends"
done
devdeps=$(field "$dev" Depends)
echo "execrec-dev Depends: $devdeps"
for p in librdkafka-dev libavro-dev libpq-dev libjansson-dev libcurl4-openssl-dev; do
    has_dep "$devdeps" "$p" "execrec-dev Depends"
done

# Control files: the conffile, and postinst creating the system user.
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$tmp" ./conffiles ./postinst ./postrm
check "$(cat "$tmp/conffiles")" "/etc/execrec/execrec.properties" "execrec conffiles"
check "$(grep -c 'adduser --system --group --no-create-home --home /nonexistent' "$tmp/postinst")" 1 \
    "postinst creates the system user"
check "$(grep -c -- '--shell /usr/sbin/nologin' "$tmp/postinst")" 1 "the system user has no login shell"
sh -n "$tmp/postinst" && sh -n "$tmp/postrm" && pass || fail "postinst/postrm are not valid sh"

# Contents.
contents() { dpkg-deb --contents "$1" | awk '$1 !~ /^d/ {print $6}' | sort | tr '\n' ' '; }
check "$(contents "$deb")" "./etc/execrec/execrec.properties ./usr/bin/execrec \
./usr/lib/systemd/system/execrec-partitions.service ./usr/lib/systemd/system/execrec-partitions.timer \
./usr/lib/systemd/system/execrec.service ./usr/lib/systemd/system/execrec@.service \
./usr/share/doc/execrec/execrec.properties ./usr/share/doc/execrec/install.md \
./usr/share/man/man1/execrec.1.gz " "execrec contents"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
headers=$(cd "$src/include" && ls execrec/*.h | sed 's|^|./usr/include/|' | sort | tr '\n' ' ')
check "$(contents "$dev")" "${headers}./usr/lib/$multiarch/libexecrec.a ./usr/lib/$multiarch/pkgconfig/execrec.pc " \
    "execrec-dev contents"
check "$(dpkg-deb --contents "$deb" | awk '$6 == "./usr/bin/execrec" {print $1, $2}')" "-rwxr-xr-x root/root" \
    "the binary's mode and owner"

# Unpacked into a scratch root: the binary runs from there.
mkdir -p "$root" && dpkg-deb -x "$deb" "$root" && dpkg-deb -x "$dev" "$root"
"$root/usr/bin/execrec" --help >"$tmp/help" 2>&1
check "$?" 0 "unpacked execrec --help: exit status"
check "$(head -1 "$tmp/help")" "usage: execrec [--version] [--help] <command> [options]" "unpacked execrec --help"
check "$(grep -c '^  run  ' "$tmp/help")" 1 "unpacked execrec --help lists run"
check "$("$root/usr/bin/execrec" --version 2>&1)" "execrec $version" "unpacked execrec --version"
"$root/usr/bin/execrec" run --bogus >"$tmp/bogus" 2>&1
check "$?" 2 "unpacked execrec run --bogus: exit status"
# The packaged units are deploy/systemd's, unchanged (the package's paths are theirs).
for u in "$src"/deploy/systemd/*; do
    if cmp -s "$u" "$root/usr/lib/systemd/system/$(basename "$u")"; then pass; else
        fail "packaged $(basename "$u") differs from deploy/systemd"
    fi
done
# The packaged man page renders and documents every command.
MANWIDTH=100 man -l "$root/usr/share/man/man1/execrec.1.gz" >"$tmp/man.txt" 2>"$tmp/man.err"
check "$(cat "$tmp/man.err")" "" "man -l of the packaged page: warnings"
for c in $("$root/usr/bin/execrec" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'); do
    check "$(grep -c "^   execrec $c\$" "$tmp/man.txt")" 1 "the packaged man page's section for execrec $c"
done

# A program against the unpacked headers and library, through the packaged execrec.pc
# (its prefix moved to the scratch root).
cat >"$tmp/app.c" <<'C'
#include <stdio.h>
#include <execrec/publish.h>
int main(void) {
    execrec_publisher_conf_t conf = {.brokers = NULL};
    char errstr[256];
    execrec_publisher_t *pub = execrec_publisher_new(&conf, errstr, sizeof(errstr));
    printf("%s: %s\n", pub ? "created" : "refused", pub ? "" : errstr);
    execrec_publisher_destroy(pub);
    return 0;
}
C
flags=$(PKG_CONFIG_PATH=$root/usr/lib/$multiarch/pkgconfig pkg-config --define-variable=prefix="$root/usr" \
    --cflags --libs execrec) || fail "pkg-config on the packaged execrec.pc"
# shellcheck disable=SC2086 # flags are words
if cc -std=c11 -Wall -Werror -o "$tmp/app" "$tmp/app.c" $flags 2>"$tmp/cc.log"; then
    pass
    "$tmp/app" >"$tmp/app.out" 2>&1
    check "$(head -1 "$tmp/app.out")" "refused: no brokers given" "the program linked from the package"
else
    fail "a program does not build against the package: $(cat "$tmp/cc.log")"
fi

if command -v lintian >/dev/null; then
    lintian "$deb" "$dev" || echo "lintian reported the above (not a failure of this test)"
else
    echo "lintian is not installed: not run"
fi
cli_finish
