#!/usr/bin/env bash
# Stop the local Kafka and PostgreSQL. Extra arguments (e.g. --wipe) are
# passed to both stop scripts. Tries both even if one fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

rc=0
"$here/kafka-stop.sh" "$@" || rc=$?
"$here/postgres-stop.sh" "$@" || rc=$?
exit "$rc"
