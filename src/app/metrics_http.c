/* The metrics and health endpoint on libmicrohttpd. See metrics_http.h.
 *
 * libmicrohttpd runs one internal polling thread (epoll): every connection is a
 * non-blocking socket in its event loop, so a client that sends half a request, or
 * reads its response one byte a second, holds its own slot and nothing else. A
 * thread per connection was not taken: it would let a burst of idle sockets cost a
 * thread each. The handler builds each response in memory (microseconds) and hands
 * it over; libmicrohttpd writes it as the client reads. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "app/metrics_http.h"

struct execrec_http_s {
    struct MHD_Daemon *d;
    execrec_telemetry_t *t;
    int port;
};

/* Splits "HOST:PORT" / "[V6]:PORT" into host (empty: any) and port. */
static int split_listen(const char *listen, char *host, size_t host_size, char *port,
                        size_t port_size, char *errstr, size_t errstr_size) {
    const char *colon, *h = listen;
    size_t hlen;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':') {
            execrec_errstr(errstr, errstr_size,
                           "'%s' is not HOST:PORT (an IPv6 address is written [ADDR]:PORT)",
                           listen);
            return -1;
        }
        h = listen + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon) {
            execrec_errstr(errstr, errstr_size, "'%s' is not HOST:PORT (e.g. 127.0.0.1:9750)",
                           listen);
            return -1;
        }
        hlen = (size_t)(colon - listen);
    }
    const char *p = colon + 1;
    char *end;
    long v = strtol(p, &end, 10);
    if (!*p || *end || v < 0 || v > 65535 || hlen >= host_size) {
        execrec_errstr(errstr, errstr_size, "'%s' is not HOST:PORT (a port is 0 to 65535)", listen);
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, port_size, "%ld", v);
    return 0;
}

/* Resolves listen to the first address getaddrinfo gives (numeric port). */
static struct addrinfo *resolve(const char *listen, char *errstr, size_t errstr_size) {
    char host[256], port[8];
    if (split_listen(listen, host, sizeof(host), port, sizeof(port), errstr, errstr_size) < 0)
        return NULL;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
    if (rc) {
        execrec_errstr(errstr, errstr_size, "'%s': cannot resolve '%s': %s", listen, host,
                       gai_strerror(rc));
        return NULL;
    }
    return ai;
}

execrec_err_t execrec_http_check_listen(const char *listen, char *errstr, size_t errstr_size) {
    char host[256], port[8];
    if (split_listen(listen, host, sizeof(host), port, sizeof(port), errstr, errstr_size) < 0)
        return EXECREC_ERR_INVALID;
    return EXECREC_OK;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                             const char *type) {
    struct MHD_Response *res = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!res) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(res, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result r = MHD_queue_response(c, status, res);
    MHD_destroy_response(res);
    return r;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *line) {
    size_t n = strlen(line);
    char *body = malloc(n + 2);
    if (!body)
        return MHD_NO;
    memcpy(body, line, n);
    body[n] = '\n';
    body[n + 1] = '\0';
    return reply(c, status, body, n + 1, "text/plain; charset=utf-8");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    (void)upload_data;
    (void)con_cls;
    execrec_http_t *h = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        *upload_data_size = 0; /* a body is not read: the connection is closed after */
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD are served");
    }
    char why[256];
    if (!strcmp(url, "/metrics")) {
        size_t len = 0;
        char *body = execrec_telemetry_format(h->t, &len);
        if (!body)
            return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return reply(c, MHD_HTTP_OK, body, len, "text/plain; version=0.0.4; charset=utf-8");
    }
    if (!strcmp(url, "/healthz")) {
        if (execrec_telemetry_healthy(h->t, why, sizeof(why)))
            return reply_text(c, MHD_HTTP_OK, "ok");
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, why);
    }
    if (!strcmp(url, "/readyz")) {
        if (execrec_telemetry_ready(h->t, why, sizeof(why)))
            return reply_text(c, MHD_HTTP_OK, "ready");
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, why);
    }
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz or /readyz");
}

execrec_http_t *execrec_http_start(const char *listen, execrec_telemetry_t *t, char *errstr,
                                   size_t errstr_size) {
    struct addrinfo *ai = resolve(listen, errstr, errstr_size);
    if (!ai)
        return NULL;
    execrec_http_t *h = calloc(1, sizeof(*h));
    if (!h) {
        freeaddrinfo(ai);
        execrec_errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    h->t = t;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The port given to MHD_start_daemon is ignored when MHD_OPTION_SOCK_ADDR is set. */
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)EXECREC_HTTP_MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EXECREC_HTTP_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t)EXECREC_HTTP_CONNECTION_MEMORY, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->d) {
        execrec_errstr(errstr, errstr_size,
                       "cannot listen on %s (address in use, or not an address of this host?)",
                       listen);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    return h;
}

int execrec_http_port(const execrec_http_t *h) {
    return h->port;
}

void execrec_http_stop(execrec_http_t *h) {
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
