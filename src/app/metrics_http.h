/* The metrics and health endpoint: GET /metrics (Prometheus text), /healthz and
 * /readyz over HTTP, served by libmicrohttpd from a thread of its own (see
 * docs/metrics.md). The consume loop never waits on it: a request reads the
 * telemetry (telemetry.h) under the registry lock, which is held only to copy the
 * values into the response, never while a socket is written.
 *
 * A slow or hostile client costs at most one connection slot and its memory: the
 * server takes EXECREC_HTTP_MAX_CONNECTIONS connections, each with a memory limit
 * and dropped after EXECREC_HTTP_TIMEOUT_S seconds without progress. */
#ifndef EXECREC_METRICS_HTTP_H
#define EXECREC_METRICS_HTTP_H

#include <stddef.h>
#include "app/telemetry.h"
#include "execrec/err.h"

#define EXECREC_HTTP_MAX_CONNECTIONS 256
#define EXECREC_HTTP_TIMEOUT_S 10
#define EXECREC_HTTP_CONNECTION_MEMORY (16 * 1024)

typedef struct execrec_http_s execrec_http_t;

/** Checks a HOST:PORT listen address ("127.0.0.1:9750", "[::1]:9750", ":9750" for
 *  every address; PORT 0 picks a free port) without binding it.
 *  @returns EXECREC_OK, or EXECREC_ERR_INVALID with the reason in errstr. */
execrec_err_t execrec_http_check_listen(const char *listen, char *errstr,
                                        size_t errstr_size) EXECREC_MUSTCHECK;

/** Binds listen and serves t (borrowed: it must outlive the server) from a thread
 *  of the server's own.
 *  @returns the server, or NULL with errstr (a bad address: as check_listen; the
 *  address in use or not local: the system's reason). */
execrec_http_t *execrec_http_start(const char *listen, execrec_telemetry_t *t, char *errstr,
                                   size_t errstr_size);

/** @returns the port the server listens on (the chosen one when listen said 0). */
int execrec_http_port(const execrec_http_t *h);

/** Stops serving (open connections are closed) and frees h. NULL: no-op. */
void execrec_http_stop(execrec_http_t *h);

#endif
