#!/usr/bin/env bash
# Runs every test: the GoogleTest suites through CTest, then the integration and
# compatibility suites through pytest (Debian's python3, which has kazoo). Ends with one
# summary line of passed / failed / skipped counts; exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
build_dir=$(realpath "${1:-build}")
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
export PADDOCK_BUILD_DIR="$build_dir" PADDOCK_SOURCE_DIR="$PWD"

echo "== unit tests (ctest) =="
ctest --test-dir "$build_dir" --output-on-failure --timeout 300 -j 2 \
  --output-junit "$results/ctest.xml"
ctest_rc=$?

echo "== integration tests (pytest) =="
pytest_rc=0
if compgen -G "tests/integration/test_*.py" > /dev/null || compgen -G "tests/*/test_*.py" > /dev/null; then
  /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider --junitxml="$results/pytest.xml" \
    tests/integration
  pytest_rc=$?
fi

/usr/bin/python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.xml"):
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None or case.get("status") in ("notrun", "disabled"):
            skipped += 1
        else:
            passed += 1
print(f"SUMMARY: {passed} passed, {failed} failed, {skipped} skipped")
PY
[ $ctest_rc -eq 0 ] && [ $pytest_rc -eq 0 ]
