/* Schema Registry over HTTP with libcurl, see registry.h. One easy handle per
 * client, reused across requests (keep-alive); the answers are read by
 * registry_answer.c, which knows nothing of HTTP. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <jansson.h>
#include "base/buf.h"
#include "execrec/registry.h"
#include "base/timeutil.h"
#include "wire/registry_answer.h"

#define ANSWER_MAX (4 * 1024 * 1024) /* the largest answer read: a schema file's limit */

struct execrec_registry_s {
    CURL *curl;
    char *url;   /* base URL without a trailing '/' */
    char *shown; /* the URL for messages: credentials replaced by "***" */
    long timeout_ms;
    int64_t fail_until_ms; /* after a transport error: answer with last_error until then */
    char last_error[384];
};

int execrec_registry_is_url(const char *s) {
    return s && (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8));
}

/* Replaces the user:password of a URL by "***": never log a password. */
static char *redact(const char *url) {
    const char *host = strstr(url, "://") + 3;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (!at || (slash && slash < at))
        return strdup(url);
    size_t n = strlen(url) + 4;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%.*s***%s", (int)(host - url), url, at);
    return s;
}

execrec_registry_t *execrec_registry_new(const char *url, long timeout_ms, char *errstr,
                                         size_t errstr_size) {
    if (!execrec_registry_is_url(url)) {
        execrec_errstr(errstr, errstr_size,
                       "schema registry URL must start with http:// or https://");
        return NULL;
    }
    /* Thread-safe since libcurl 7.84; before that, call it before starting threads. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        execrec_errstr(errstr, errstr_size, "cannot initialise libcurl");
        return NULL;
    }
    execrec_registry_t *sr = calloc(1, sizeof(*sr));
    if (!sr || !(sr->url = strdup(url)) || !(sr->shown = redact(url)) ||
        !(sr->curl = curl_easy_init())) {
        execrec_errstr(errstr, errstr_size, "out of memory");
        execrec_registry_destroy(sr);
        return NULL;
    }
    size_t n = strlen(sr->url);
    while (n && sr->url[n - 1] == '/')
        sr->url[--n] = '\0';
    sr->timeout_ms = timeout_ms > 0 ? timeout_ms : EXECREC_REGISTRY_TIMEOUT_MS;
    return sr;
}

void execrec_registry_destroy(execrec_registry_t *sr) {
    if (!sr)
        return;
    if (sr->curl) {
        curl_easy_cleanup(sr->curl);
        curl_global_cleanup();
    }
    free(sr->url);
    free(sr->shown);
    free(sr);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *opaque) {
    execrec_buf_t *b = opaque;
    size_t n = size * nmemb;
    if (b->len + n > ANSWER_MAX || execrec_buf_append(b, p, n) < 0)
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    return n;
}

/* One request. @returns EXECREC_OK with *status and the body in answer, or
 * EXECREC_ERR_IO (transport failure; remembered for EXECREC_REGISTRY_RETRY_MS). */
static execrec_err_t request(execrec_registry_t *sr, const char *path, const char *post,
                             long *status, execrec_buf_t *answer, char *errstr,
                             size_t errstr_size) {
    if (sr->fail_until_ms && execrec_time_monotonic_ms() < sr->fail_until_ms) {
        execrec_errstr(errstr, errstr_size, "%s (not retried for %d ms)", sr->last_error,
                       EXECREC_REGISTRY_RETRY_MS);
        return EXECREC_ERR_IO;
    }
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", sr->url, path);
    CURL *curl = sr->curl;
    struct curl_slist *headers = NULL;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, sr->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, sr->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "execrec/" EXECREC_VERSION);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    headers = curl_slist_append(headers, "Accept: application/vnd.schemaregistry.v1+json, "
                                         "application/json");
    if (post) {
        headers =
            curl_slist_append(headers, "Content-Type: application/vnd.schemaregistry.v1+json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    CURLcode cc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
        if (*status < 500) {
            sr->fail_until_ms = 0;
            return EXECREC_OK;
        }
        snprintf(sr->last_error, sizeof(sr->last_error), "schema registry %s%s: HTTP %ld",
                 sr->shown, path, *status);
    } else {
        snprintf(sr->last_error, sizeof(sr->last_error), "schema registry %s%s: %s", sr->shown,
                 path, curl_easy_strerror(cc));
    }
    sr->fail_until_ms = execrec_time_monotonic_ms() + EXECREC_REGISTRY_RETRY_MS;
    execrec_errstr(errstr, errstr_size, "%s", sr->last_error);
    return EXECREC_ERR_IO;
}

execrec_err_t execrec_registry_fetch(execrec_registry_t *sr, int32_t id, char **schema_json,
                                     char *errstr, size_t errstr_size) {
    assert(sr && schema_json);
    char path[64];
    snprintf(path, sizeof(path), "/schemas/ids/%" PRId32, id);
    execrec_buf_t answer = EXECREC_BUF_INIT;
    long status = 0;
    execrec_err_t err = request(sr, path, NULL, &status, &answer, errstr, errstr_size);
    if (err) {
        execrec_buf_free(&answer);
        return err;
    }
    char why[256];
    err = execrec_registry_schema_answer(status, answer.data, answer.len, schema_json, why,
                                         sizeof(why));
    if (err)
        execrec_errstr(errstr, errstr_size, "schema registry %s%s: %s", sr->shown, path, why);
    execrec_buf_free(&answer);
    return err;
}

execrec_err_t execrec_registry_register(execrec_registry_t *sr, const char *subject,
                                        const char *schema_json, int32_t *id, char *errstr,
                                        size_t errstr_size) {
    assert(sr && subject && schema_json && id);
    char *esc = curl_easy_escape(sr->curl, subject, 0);
    json_t *body = json_pack("{s:s}", "schema", schema_json);
    char *post = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!esc || !post) {
        curl_free(esc);
        free(post);
        execrec_errstr(errstr, errstr_size, "out of memory");
        return EXECREC_ERR_NOMEM;
    }
    char path[1024];
    snprintf(path, sizeof(path), "/subjects/%s/versions", esc);
    curl_free(esc);
    execrec_buf_t answer = EXECREC_BUF_INIT;
    long status = 0;
    execrec_err_t err = request(sr, path, post, &status, &answer, errstr, errstr_size);
    free(post);
    if (!err) {
        char why[256];
        err = execrec_registry_id_answer(status, answer.data, answer.len, id, why, sizeof(why));
        if (err)
            execrec_errstr(errstr, errstr_size, "schema registry %s%s: %s", sr->shown, path, why);
    }
    execrec_buf_free(&answer);
    return err;
}

static execrec_avro_schema_t *fetch_cb(void *opaque, int32_t id, char *errstr, size_t errstr_size) {
    execrec_registry_t *sr = opaque;
    char *text = NULL;
    if (execrec_registry_fetch(sr, id, &text, errstr, errstr_size))
        return NULL;
    char why[256];
    execrec_avro_schema_t *schema = execrec_registry_schema_compile(text, why, sizeof(why));
    if (!schema)
        execrec_errstr(errstr, errstr_size, "schema registry %s/schemas/ids/%" PRId32 ": %s",
                       sr->shown, id, why);
    free(text);
    return schema;
}

void execrec_registry_attach(execrec_registry_t *sr, execrec_schemamap_t *map) {
    assert(sr && map);
    execrec_schemamap_set_fetch(map, fetch_cb, sr);
}
