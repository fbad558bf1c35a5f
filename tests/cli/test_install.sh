#!/usr/bin/env bash
# `cmake --install --prefix DIR` of a Release build (package_lib.sh) installs what
# docs/install.md lists: the binary (runs from DIR), the man page, the sample
# configuration, the systemd units with DIR's paths, the headers, libexecrec.a and
# execrec.pc. Then an application is compiled against the installed headers and
# library with `pkg-config --cflags --libs execrec` alone (the form docs/publish.md
# and docs/install.md give), publishes a good and a bad trade to an embedded broker
# started from the installed binary, and the good one is consumed back with kcat.
source "$(dirname "$0")/package_lib.sh"
source "$(dirname "$0")/run_lib.sh" # rl_start_broker, die, work (= $tmp)
prefix=$tmp/prefix

pkg_release cmake --install . --prefix "$prefix" >"$work/install.log" 2>&1 ||
    die "cmake --install failed: $(tail -n 20 "$work/install.log")"

# The files, each where docs/install.md says.
libdir=$(cd "$prefix" && ls -d lib/*-linux-gnu 2>/dev/null || echo lib)
for f in bin/execrec share/man/man1/execrec.1.gz etc/execrec/execrec.properties \
    share/doc/execrec/execrec.properties share/doc/execrec/install.md \
    lib/systemd/system/execrec.service lib/systemd/system/execrec@.service \
    lib/systemd/system/execrec-partitions.service lib/systemd/system/execrec-partitions.timer \
    include/execrec/publish.h include/execrec/err.h include/execrec/record.h \
    "$libdir/libexecrec.a" "$libdir/pkgconfig/execrec.pc"; do
    if [ -f "$prefix/$f" ]; then pass; else fail "cmake --install did not install $f"; fi
done
# Every public header is installed, and nothing else in include/.
check "$(cd "$prefix/include/execrec" && ls | sort | tr '\n' ' ')" \
    "$(cd "$src/include/execrec" && ls *.h | sort | tr '\n' ' ')" "installed headers"
nheaders=$(ls "$src"/include/execrec/*.h | wc -l)
check "$(find "$prefix" -type f | wc -l)" "$((nheaders + 11))" "files installed ($nheaders headers and the 11 above)"

# The installed binary runs and is the release build (no sanitizer runtime).
check "$("$prefix/bin/execrec" --version)" "execrec $(sed -n 's/^project(execrec VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")" \
    "installed execrec --version"
check "$(ldd "$prefix/bin/execrec" | grep -c libasan)" 0 "libasan in ldd of the installed binary"

# The units point at this prefix's binary and configuration.
check "$(grep -h '^ExecStart=' "$prefix"/lib/systemd/system/execrec.service)" \
    "ExecStart=$prefix/bin/execrec run --config $prefix/etc/execrec/execrec.properties --dsn-file \${CREDENTIALS_DIRECTORY}/dsn" \
    "execrec.service ExecStart under --prefix"
check "$(grep -h '^LoadCredential=' "$prefix"/lib/systemd/system/execrec-partitions.service)" \
    "LoadCredential=dsn:$prefix/etc/execrec/owner.dsn" "execrec-partitions.service credential under --prefix"

# execrec.pc: this prefix, the version, and every pkg-config module the library links.
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
check "$(pkg-config --modversion execrec)" "$("$prefix/bin/execrec" --version | cut -d' ' -f2)" \
    "pkg-config --modversion execrec"
check "$(pkg-config --variable=prefix execrec)" "$prefix" "execrec.pc prefix"
# Requires: every module CMakeLists.txt looks up for the library (all but the tests'
# check), the five of today among them.
requires=" $(pkg-config --print-requires execrec | tr '\n' ' ')"
echo "execrec.pc Requires:$requires"
for m in rdkafka avro-c libpq jansson libcurl $(sed -n 's/^ *pkg_check_modules([A-Z_]* REQUIRED IMPORTED_TARGET \([a-z0-9+._-]*\)).*/\1/p' "$src/CMakeLists.txt" | grep -vx check); do
    case "$requires" in
    *" $m "*) pass ;;
    *) fail "execrec.pc does not require $m:$requires" ;;
    esac
done

# An application of the publisher API, built with pkg-config only.
cat >"$work/app.c" <<'C'
#include <stdio.h>
#include <execrec/publish.h>

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    execrec_publisher_conf_t conf = {.brokers = argv[1]};
    char errstr[512];
    execrec_publisher_t *pub = execrec_publisher_new(&conf, errstr, sizeof(errstr));
    if (!pub) {
        printf("execrec_publisher_new: %s\n", errstr);
        return 1;
    }
    execrec_trade_t good = {.trade_id = "T-1", .order_id = "O-1", .quantity = "0.1",
                            .price = "67250.50", .trade_time = "2026-11-03T14:30:01Z"};
    execrec_trade_t bad = good;
    bad.trade_id = "T-2";
    bad.quantity = "0";
    execrec_err_t err = execrec_publish_trade(pub, &good, errstr, sizeof(errstr));
    printf("good: %s\n", execrec_err_name(err));
    err = execrec_publish_trade(pub, &bad, errstr, sizeof(errstr));
    printf("bad: %s: %s\n", execrec_err_name(err), errstr);
    err = execrec_publisher_flush(pub, 20000);
    execrec_publish_stats_t st;
    execrec_publisher_stats(pub, &st);
    printf("flush: %s; produced %lld, delivered %lld, failed %lld, refused %lld\n",
           execrec_err_name(err), (long long)st.produced, (long long)st.delivered,
           (long long)st.failed, (long long)st.refused);
    execrec_publisher_destroy(pub);
    return err == EXECREC_OK ? 0 : 1;
}
C
flags=$(pkg-config --cflags --libs execrec) || die "pkg-config --cflags --libs execrec failed"
case " $flags " in
*" -I$prefix/include "*) pass ;;
*) fail "pkg-config --cflags gives no -I$prefix/include: $flags" ;;
esac
# shellcheck disable=SC2086 # flags are words
cc -std=c11 -Wall -Werror -o "$work/app" "$work/app.c" $flags >"$work/cc.log" 2>&1 ||
    die "the application does not build with '$flags': $(cat "$work/cc.log")"
check "$(nm "$work/app" | grep -c ' T execrec_publish_trade$')" 1 "execrec_publish_trade linked into the application from libexecrec.a"

bin=$prefix/bin/execrec # the broker too is the installed binary
rl_start_broker --partitions 1
"$work/app" "$BROKER" >"$work/app.out" 2>"$work/app.log"
check "$?" 0 "the application's exit status"
check "$(cat "$work/app.out")" "good: ok
bad: reject: non_positive_quantity: field \"quantity\": must be > 0, got 0
flush: ok; produced 1, delivered 1, failed 0, refused 1" "the application's output"
check "$(kcat -C -b "$BROKER" -t trades -e -q -f '%k %s\n' 2>>"$work/kcat.log")" \
    'O-1 {"trade_id":"T-1","order_id":"O-1","quantity":"0.1","price":"67250.50","trade_time":"2026-11-03T14:30:01Z"}' \
    "the trade consumed back (key, payload)"

cli_finish
