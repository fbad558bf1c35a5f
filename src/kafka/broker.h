/* The embedded development broker: librdkafka's mock cluster, a real
 * Kafka-protocol server on loopback, in memory, gone when the process exits.
 * For development, demos and tests only: it keeps just the newest 5 MiB (at most
 * 100,000 message sets) of each partition, a limit built into librdkafka.
 * Production points --brokers at a real Kafka cluster. */
#ifndef EXECREC_BROKER_H
#define EXECREC_BROKER_H

#include <stddef.h>

typedef struct execrec_broker_s execrec_broker_t;

/** Starts a mock cluster of nbrokers brokers and creates each of topics (ntopics
 *  of them; NULL or empty entries are skipped) with partitions partitions. @returns the broker, or NULL with errstr. */
execrec_broker_t *execrec_broker_start(int nbrokers, int partitions, const char *const *topics,
                                       int ntopics, char *errstr, size_t errstr_size);

/** @returns the bootstrap.servers list ("127.0.0.1:port,..."), owned by b. */
const char *execrec_broker_bootstraps(const execrec_broker_t *b);

/** Stops the cluster: every message it held is gone. */
void execrec_broker_stop(execrec_broker_t *b);

#endif
