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

/** How long librdkafka's mock cluster holds the first JoinGroup of a group it has
 *  not seen, waiting for more members, unless set: 3 s, Kafka's default
 *  group.initial.rebalance.delay.ms. */
#define EXECREC_BROKER_REBALANCE_DELAY_MS 3000

/** Sets the group initial rebalance delay of b (Kafka's
 *  group.initial.rebalance.delay.ms): how long the first member of a group with no
 *  members waits for others before the group is formed. 0 answers a lone recorder
 *  at once; several that start together then rebalance once per member arriving
 *  after the first. Only librdkafka 2.6 and later can change it
 *  (rd_kafka_mock_group_initial_rebalance_delay_ms, found when execrec is built);
 *  with an older librdkafka (Debian 12's 2.0.2) it stays
 *  EXECREC_BROKER_REBALANCE_DELAY_MS.
 *  @returns the delay in force afterwards, in ms. */
int execrec_broker_set_rebalance_delay(execrec_broker_t *b, int delay_ms);

/** Stops the cluster: every message it held is gone. */
void execrec_broker_stop(execrec_broker_t *b);

#endif
