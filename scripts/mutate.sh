#!/usr/bin/env bash
# Mutation test of the data scope (`make mutate`): applies each
# scope-removing mutation of scripts/mutations/*.mut, one at a time, to a
# copy of the tree, and runs the tests the mutation names; a mutation is
# killed when one of them fails. The working tree is never touched.
#
# The tests of every mutation are the authorization tests of cmd/whistle
# (TestAuthorizationMatrix, TestAuthorizationActions, TestBulkDispatchEffect,
# TestFollowingGrantsReadingOnly, TestScopedLists) and the whole test
# package of the mutated package: a subset of `make test`, so a killed
# mutation also fails `make test`.
#
#   REV=HEAD          the commit to copy (git archive), so that other work in
#                     progress in the working tree is left out
#   MUTATIONS=scripts/mutations   where the *.mut files are (relative to the
#                     repository, or absolute)
#   ONLY="pattern"    run only the mutations whose names match (grep -E)
#   KEEP=1            keep the temporary copy
#
# It fails (exit 1) if the unmutated copy does not pass its tests, if a
# mutation does not apply or does not compile (a stale mutation is never
# counted as killed), or if any mutation survives.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REV="${REV:-HEAD}"
MUTATIONS="${MUTATIONS:-scripts/mutations}"
GO="${GO:-go}"
export CGO_ENABLED="${CGO_ENABLED:-1}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/whistle-mutate.XXXXXX")
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$tmp"' EXIT; fi
pristine=$tmp/pristine
tree=$tmp/tree
mkdir -p "$pristine"
git -C "$ROOT" archive "$REV" | tar -x -C "$pristine"
# The front-end files are built, not committed.
if [ -d "$ROOT/internal/web/static/vendor" ]; then
  mkdir -p "$pristine/internal/web/static/vendor"
  cp -r "$ROOT/internal/web/static/vendor/." "$pristine/internal/web/static/vendor/"
else
  make -C "$pristine" assets >/dev/null
fi
$GO build -o "$tmp/mutations" ./scripts/mutations
case $MUTATIONS in /*) ;; *) MUTATIONS=$ROOT/$MUTATIONS;; esac
muts=$("$tmp/mutations" list "$MUTATIONS")
if [ -n "${ONLY:-}" ]; then muts=$(grep -E "$ONLY" <<<"$muts" || true); fi
[ -n "$muts" ] || { echo "mutate: no mutation selected" >&2; exit 1; }
# A mutation whose text has moved on fails here, before any test runs.
"$tmp/mutations" check "$MUTATIONS" "$pristine" || { echo "mutate: stale mutations; nothing was run" >&2; exit 1; }

# runtests NAME LOG: compiles each test package of the mutation first (a
# mutation that does not compile is an error, not a kill), then runs them
# in order, stopping at the first failure. Exit 0 = all passed, 1 = a test
# failed, 2 = a build failed.
runtests() {
  local name=$1 log=$2 pkg pattern i=0
  local -a pkgs=() patterns=()
  rm -f "$tmp"/t*.test
  while IFS=$'\t' read -r pkg pattern; do pkgs+=("$pkg"); patterns+=("$pattern"); done < <("$tmp/mutations" tests "$MUTATIONS" "$name")
  (cd "$tree" && $GO build ./...) >>"$log" 2>&1 || return 2
  for i in "${!pkgs[@]}"; do
    (cd "$tree" && $GO test -c -o "$tmp/t$i.test" "${pkgs[$i]}") >>"$log" 2>&1 || return 2
  done
  for i in "${!pkgs[@]}"; do
    local args=(-test.count=1 -test.failfast -test.timeout=15m)
    if [ -n "${patterns[$i]}" ]; then args+=("-test.run=${patterns[$i]}"); fi
    [ -e "$tmp/t$i.test" ] || continue # a package without tests
    (cd "$tree/${pkgs[$i]}" && "$tmp/t$i.test" "${args[@]}") >>"$log" 2>&1 || return 1
  done
  return 0
}

fresh() { rm -rf "$tree"; cp -r "$pristine" "$tree"; }

# The unmutated copy must pass, or every mutation would look killed.
echo "mutate: $(wc -l <<<"$muts") mutations of $(git -C "$ROOT" rev-parse --short "$REV"); checking the unmutated copy first"
fresh
first=$(head -1 <<<"$muts")
rc=0; runtests "$first" "$tmp/baseline.log" || rc=$?
if [ $rc -ne 0 ]; then
  echo "mutate: the unmutated copy fails the tests of $first (exit $rc):" >&2
  tail -40 "$tmp/baseline.log" >&2
  exit 1
fi

killed=0 survived=0 broken=0
declare -a survivors=() brokens=()
for m in $muts; do
  fresh
  log=$tmp/$m.log
  start=$(date +%s)
  if ! "$tmp/mutations" apply "$MUTATIONS" "$m" "$tree" 2>"$log"; then
    echo "BROKEN    $m: does not apply: $(cat "$log")"
    broken=$((broken + 1)); brokens+=("$m"); continue
  fi
  rc=0; runtests "$m" "$log" || rc=$?
  secs=$(( $(date +%s) - start ))
  case $rc in
    1) killed=$((killed + 1)); echo "killed    $m (${secs}s): $(grep -m1 -E '^\s+\S+_test\.go:[0-9]+:' "$log" | sed 's/^\s*//' | cut -c1-160)";;
    0) survived=$((survived + 1)); survivors+=("$m"); echo "SURVIVED  $m (${secs}s)";;
    *) broken=$((broken + 1)); brokens+=("$m"); echo "BROKEN    $m: does not compile:"; grep -m5 -E '\.go:[0-9]+' "$log" || tail -5 "$log";;
  esac
done
total=$((killed + survived + broken))
echo "mutate: $killed of $total killed, $survived survived, $broken broken"
if [ $survived -gt 0 ]; then echo "mutate: survivors: ${survivors[*]}" >&2; fi
if [ $broken -gt 0 ]; then echo "mutate: broken (stale or not compiling): ${brokens[*]}" >&2; fi
[ $survived -eq 0 ] && [ $broken -eq 0 ]
