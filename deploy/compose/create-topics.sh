#!/bin/bash
# deploy/compose.yaml's kafka-topics service: the four topics execrec reads,
# PARTITIONS each (docs/operations.md, "Sizing"), if they do not exist yet.
set -euo pipefail
for topic in orders order-events trades order-managers; do
    /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
        --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1
done
/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --list
