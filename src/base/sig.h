/* A flag a signal handler sets and any thread reads: the stop and SIGHUP counters
 * (cli_common.c) that the recorder's writer threads, the ingest retry loop and the
 * PostgreSQL backoff watch. A lock-free atomic, which C11 allows a handler to touch
 * (volatile sig_atomic_t is only for the thread the signal interrupts). */
#ifndef EXECREC_SIG_H
#define EXECREC_SIG_H

#include <stdatomic.h>

typedef _Atomic int execrec_sig_t;

#endif
