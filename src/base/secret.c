/* Secrets in the configuration, see secret.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/buf.h"
#include "base/secret.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int execrec_secret_kafka_key(const char *key) {
    return ends_with(key, ".password") || ends_with(key, ".secret") ||
           strstr(key, "password") != NULL || strstr(key, "secret") != NULL ||
           !strcmp(key, "ssl.key.pem") || !strcmp(key, "sasl.oauthbearer.config");
}

void execrec_secret_mask(char *s) {
    for (; *s; s++)
        *s = '*';
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The URI form: [scheme]://[user[:PASSWORD]@]host...[?k=v&password=PASSWORD...] */
static int mask_uri(char *s) {
    int n = 0;
    char *p = strstr(s, "://") + 3;
    char *at = p;
    while (*at && *at != '@' && *at != '/' && *at != '?')
        at++;
    if (*at == '@') {
        char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon && colon + 1 < at) {
            memset(colon + 1, '*', (size_t)(at - colon - 1));
            n++;
        }
    }
    char *q = strchr(at, '?');
    while (q && *q) {
        char *key = q + 1, *end = key + strcspn(key, "&"),
             *eq = memchr(key, '=', (size_t)(end - key));
        if (eq) {
            int secret = memmem(key, (size_t)(eq - key), "password", 8) != NULL;
            if (secret && eq + 1 < end) {
                memset(eq + 1, '*', (size_t)(end - eq - 1));
                n++;
            }
        }
        q = *end ? end : NULL;
    }
    return n;
}

int execrec_secret_mask_conninfo(char *conninfo) {
    if (!conninfo)
        return 0;
    if (!strncmp(conninfo, "postgresql://", 13) || !strncmp(conninfo, "postgres://", 11))
        return mask_uri(conninfo);
    /* keyword = value pairs as libpq reads them (conninfo_parse): a value is
     * 'quoted' (\' and \\ escaped) or runs to the next blank (\ escapes a byte). */
    int n = 0;
    char *p = conninfo;
    for (;;) {
        while (is_space(*p))
            p++;
        if (!*p)
            break;
        char *key = p;
        while (*p && *p != '=' && !is_space(*p))
            p++;
        size_t keylen = (size_t)(p - key);
        while (is_space(*p))
            p++;
        if (*p != '=')
            break; /* not a conninfo libpq accepts: libpq will say so */
        p++;
        while (is_space(*p))
            p++;
        int secret = memmem(key, keylen, "password", 8) != NULL;
        int quoted = *p == '\'';
        if (quoted)
            p++;
        char *value = p;
        while (*p && (quoted ? *p != '\'' : !is_space(*p))) {
            if (*p == '\\' && p[1])
                p++;
            p++;
        }
        if (secret && p > value) {
            memset(value, '*', (size_t)(p - value));
            n++;
        }
        if (quoted && *p)
            p++;
    }
    return n;
}

execrec_err_t execrec_secret_read_file(const char *path, char **value, char *errstr,
                                       size_t errstr_size) {
    execrec_buf_t buf = EXECREC_BUF_INIT;
    *value = NULL;
    execrec_err_t err = execrec_buf_read_file(&buf, path, 65536, errstr, errstr_size);
    if (err) {
        execrec_buf_free(&buf);
        return err;
    }
    while (buf.len > 0 && is_space(buf.data[buf.len - 1]))
        buf.data[--buf.len] = '\0';
    if (!buf.len) {
        snprintf(errstr, errstr_size, "%s: empty", path);
        execrec_buf_free(&buf);
        return EXECREC_ERR_INVALID;
    }
    *value = execrec_buf_steal(&buf);
    return EXECREC_OK;
}

int execrec_secret_file_exposed(const char *path, unsigned *mode) {
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;
    *mode = (unsigned)(st.st_mode & 07777);
    return (st.st_mode & 077) != 0;
}
