# What the test scripts of tests/scripts share; each sources it after `set -uo pipefail`:
#   source "$(dirname "$0")/lib.sh"
# A script records failures with die (it goes on, so that one run reports every failure) and exits with $fail.
fail=0
die() { echo "FAIL: $*"; fail=1; }
data=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)      # tests/data
models=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../models" && pwd)  # the shipped models
