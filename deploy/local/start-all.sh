#!/usr/bin/env bash
# Start the local PostgreSQL and Kafka and print their settings:
#
#   eval "$(deploy/local/start-all.sh)"
#
# Both start scripts are idempotent, so this is safe to run repeatedly.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$here/postgres-start.sh"
"$here/kafka-start.sh"
