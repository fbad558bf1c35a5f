/* A Confluent-compatible Schema Registry client over HTTP(S), with libcurl:
 * schema ids resolved with GET /schemas/ids/{id}, schemas registered with
 * POST /subjects/{subject}/versions. Plugged behind a schema map
 * (schemamap.h's execrec_schemamap_set_fetch), so the decoder asks it only for ids
 * it does not hold yet, and keeps every answer (an id is immutable in a registry).
 *
 * Why libcurl and not a socket of our own: TLS, proxies, redirects, basic auth in
 * the URL (https://user:password@host) and timeouts are what a registry in
 * production needs, and libcurl has them right.
 *
 * Failure policy: every request has a timeout (timeout_ms, connect included).
 * After a transport failure (refused, timed out, 5xx) the client answers with
 * that same error without a new request for EXECREC_REGISTRY_RETRY_MS, so that an
 * outage costs each message a reject, not a timeout. The recorder turns an id it
 * cannot resolve into an avro_unknown_schema reject whose message carries the
 * HTTP error: the bytes are kept in ingest_rejects and can be replayed once the
 * registry is back. Nothing is dropped silently. */
#ifndef EXECREC_REGISTRY_H
#define EXECREC_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include "execrec/schemamap.h"
#include "execrec/err.h"

#define EXECREC_REGISTRY_TIMEOUT_MS 5000 /* default request timeout */
#define EXECREC_REGISTRY_RETRY_MS 1000   /* fail fast this long after a transport error */

typedef struct execrec_registry_s execrec_registry_t;

/** @returns 1 when s is a registry URL (starts with http:// or https://), else 0
 *  (then it is the path of an offline map file). */
int execrec_registry_is_url(const char *s);

/** A client of the registry at url (base URL, e.g. "http://127.0.0.1:8081"), with
 *  timeout_ms per request (0: EXECREC_REGISTRY_TIMEOUT_MS). No request is made yet.
 *  @returns NULL and errstr when url is not http(s) or libcurl cannot start. */
execrec_registry_t *execrec_registry_new(const char *url, long timeout_ms, char *errstr,
                                         size_t errstr_size);
void execrec_registry_destroy(execrec_registry_t *sr);

/** GET /schemas/ids/{id}. @returns EXECREC_OK and *schema_json (malloc'd schema
 *  text, the caller frees it); EXECREC_ERR_NOTFOUND (the registry answered 404);
 *  EXECREC_ERR_IO (unreachable, timeout, other HTTP status, malformed answer);
 *  errstr names the URL (without credentials) and the reason. */
execrec_err_t execrec_registry_fetch(execrec_registry_t *sr, int32_t id, char **schema_json,
                                     char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;

/** POST /subjects/{subject}/versions with the schema text; the registry returns
 *  the existing id when the subject already has this schema.
 *  @returns EXECREC_OK and *id; EXECREC_ERR_IO or EXECREC_ERR_INVALID (the
 *  registry refused the schema, e.g. 409 incompatible) with errstr. */
execrec_err_t execrec_registry_register(execrec_registry_t *sr, const char *subject,
                                        const char *schema_json, int32_t *id, char *errstr,
                                        size_t errstr_size) EXECREC_MUSTCHECK;

/** Makes sr the lookup behind map: ids map does not hold are fetched, parsed and
 *  cached in map. sr must outlive map's use. */
void execrec_registry_attach(execrec_registry_t *sr, execrec_schemamap_t *map);

#endif
