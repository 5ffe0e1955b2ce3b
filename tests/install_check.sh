#!/bin/sh
# The installed library (issue 17): cmake --install into a temporary prefix, then
#  0. the headers of include/moem are installed, and each compiles alone;
#  1. libmoem.so has the SONAME libmoem.so.<major> and exports exactly the functions that the
#     public header marks MOEM_API (nothing internal, no other symbol);
#  2. examples/fit_mixture.c builds against the installed tree through pkg-config and runs;
#  3. the same program builds through the CMake package (find_package(moem), moem::moem) and
#     runs, writing and reading back a model file.
# usage: install_check.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "install_check: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
pc=$(find "$tmp/prefix" -name moem.pc | head -n 1)
[ -n "$pc" ] || fail "no moem.pc installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$tmp/prefix/include/moem/moem.h" "$libdir/libmoem.a" "$libdir/libmoem.so" \
         "$libdir/cmake/moem/moemConfig.cmake" "$tmp/prefix/bin/moem"; do
    [ -e "$f" ] || fail "not installed: ${f#"$tmp/prefix/"}"
done
(cd "$src/include/moem" && ls) >"$tmp/headers.src"
(cd "$tmp/prefix/include/moem" && ls) >"$tmp/headers.inst"
diff "$tmp/headers.src" "$tmp/headers.inst" >/dev/null ||
    fail "the installed headers are not exactly the public ones of include/moem"
# each public header compiles on its own (it includes what it needs)
for h in "$tmp"/prefix/include/moem/*.h; do
    printf '#include <moem/%s>\nint main(void) { return 0; }\n' "$(basename "$h")" >"$tmp/one.c"
    cc -std=c11 -Wall -Wextra -Werror -I"$tmp/prefix/include" -c "$tmp/one.c" -o "$tmp/one.o" ||
        fail "moem/$(basename "$h") does not compile alone"
done

# 1. SONAME and exported symbols
readelf -d "$libdir/libmoem.so" | grep -q 'SONAME.*\[libmoem\.so\.[0-9]*\]' || fail "no versioned SONAME"
nm -D --defined-only "$libdir/libmoem.so" | awk '{ print $NF }' | sort -u >"$tmp/exported"
sed -n 's/^MOEM_API .*[ *]\(moem_[a-z0-9_]*\)(.*/\1/p' "$src"/include/moem/*.h | sort -u >"$tmp/declared"
[ -s "$tmp/declared" ] || fail "no MOEM_API declaration found in include/moem"
if ! diff "$tmp/declared" "$tmp/exported" >"$tmp/diff"; then
    cat "$tmp/diff" >&2
    fail "libmoem.so exports other symbols than the MOEM_API functions (< declared only, > exported only)"
fi
echo "install_check: libmoem.so exports the $(wc -l <"$tmp/declared") MOEM_API functions and nothing else"

# 2. pkg-config
export PKG_CONFIG_PATH="$(dirname "$pc")"
cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags moem) "$src/examples/fit_mixture.c" \
    -o "$tmp/fit_pc" $(pkg-config --libs moem) -lm || fail "the pkg-config build failed"
LD_LIBRARY_PATH="$libdir" "$tmp/fit_pc" || fail "the pkg-config build does not run"
LD_LIBRARY_PATH="$libdir" ldd "$tmp/fit_pc" | grep -q "$libdir/libmoem.so" ||
    fail "the pkg-config build is not linked to the installed libmoem.so"

# 3. CMake package
cmake -S "$src/examples" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log" >&2; fail "find_package(moem) failed"; }
cmake --build "$tmp/ex" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; fail "the CMake build failed"; }
"$tmp/ex/fit_mixture" "$tmp/model.json" || fail "the CMake build does not run"
echo "install_check: ok"
