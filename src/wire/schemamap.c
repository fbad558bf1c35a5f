/* The schema map: schema id -> compiled Avro schema, sorted by id, with an optional
 * lookup hook behind it (the Schema Registry client, registry.c) whose answers it
 * keeps. Filled from a map file for offline decoding. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/schemamap.h"

typedef struct entry_s {
    int32_t id;
    execrec_avro_schema_t *schema;
} entry_t;

struct execrec_schemamap_s {
    entry_t *entries; /* sorted by id */
    size_t n, cap;
    execrec_schemamap_fetch_cb fetch; /* lookup behind the entries, or NULL */
    void *fetch_opaque;
    /* The recorder's writers decode in threads of their own and share one map:
     * lookups read under the read lock; a miss fetches and adds under the write
     * lock, so one id is fetched once and no entry moves under a reader. */
    pthread_rwlock_t lock;
};

execrec_schemamap_t *execrec_schemamap_new(void) {
    execrec_schemamap_t *map = calloc(1, sizeof(execrec_schemamap_t));
    if (map && pthread_rwlock_init(&map->lock, NULL)) {
        free(map);
        return NULL;
    }
    return map;
}

void execrec_schemamap_destroy(execrec_schemamap_t *map) {
    if (!map)
        return;
    for (size_t i = 0; i < map->n; i++)
        execrec_avro_schema_destroy(map->entries[i].schema);
    free(map->entries);
    pthread_rwlock_destroy(&map->lock);
    free(map);
}

/* @returns the index of id, or of where it would go (with *found 0). */
static size_t find(const execrec_schemamap_t *map, int32_t id, int *found) {
    size_t lo = 0, hi = map->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (map->entries[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < map->n && map->entries[lo].id == id;
    return lo;
}

static execrec_err_t add_locked(execrec_schemamap_t *map, int32_t id, execrec_avro_schema_t *schema,
                                char *errstr, size_t errstr_size) {
    if (!schema) {
        execrec_errstr(errstr, errstr_size, "schema id %" PRId32 ": no schema", id);
        return EXECREC_ERR_INVALID;
    }
    int found;
    size_t at = find(map, id, &found);
    if (found) {
        execrec_avro_schema_destroy(map->entries[at].schema);
        map->entries[at].schema = schema;
        return EXECREC_OK;
    }
    if (map->n == map->cap) {
        size_t cap = map->cap ? map->cap * 2 : 8;
        entry_t *e = realloc(map->entries, cap * sizeof(*e));
        if (!e) {
            execrec_avro_schema_destroy(schema);
            execrec_errstr(errstr, errstr_size, "out of memory");
            return EXECREC_ERR_NOMEM;
        }
        map->entries = e;
        map->cap = cap;
    }
    memmove(map->entries + at + 1, map->entries + at, (map->n - at) * sizeof(*map->entries));
    map->entries[at].id = id;
    map->entries[at].schema = schema;
    map->n++;
    return EXECREC_OK;
}

void execrec_schemamap_set_fetch(execrec_schemamap_t *map, execrec_schemamap_fetch_cb cb,
                                 void *opaque) {
    assert(map);
    map->fetch = cb;
    map->fetch_opaque = opaque;
}

execrec_err_t execrec_schemamap_add(execrec_schemamap_t *map, int32_t id,
                                    execrec_avro_schema_t *schema, char *errstr,
                                    size_t errstr_size) {
    assert(map);
    pthread_rwlock_wrlock(&map->lock);
    execrec_err_t err = add_locked(map, id, schema, errstr, errstr_size);
    pthread_rwlock_unlock(&map->lock);
    return err;
}

const execrec_avro_schema_t *execrec_schemamap_lookup(const execrec_schemamap_t *map, int32_t id,
                                                      char *errstr, size_t errstr_size) {
    assert(map);
    /* The cache is the map's own entries: a lookup through a const map
     * still fills it (an id never changes meaning, so this is memoisation, not a
     * visible change; the map itself was created non-const). */
    execrec_schemamap_t *cache = (execrec_schemamap_t *)map;
    int found;
    pthread_rwlock_rdlock(&cache->lock);
    size_t at = find(map, id, &found);
    const execrec_avro_schema_t *schema = found ? map->entries[at].schema : NULL;
    pthread_rwlock_unlock(&cache->lock);
    if (schema || !map->fetch) {
        if (!schema)
            execrec_errstr(errstr, errstr_size, "schema id %" PRId32 " is not in the registry", id);
        return schema;
    }
    pthread_rwlock_wrlock(&cache->lock);
    at = find(map, id, &found); /* another thread may have fetched it meanwhile */
    if (found) {
        schema = map->entries[at].schema;
    } else {
        char why[384] = "";
        execrec_avro_schema_t *fetched = map->fetch(map->fetch_opaque, id, why, sizeof(why));
        if (!fetched)
            execrec_errstr(errstr, errstr_size, "schema id %" PRId32 ": %s", id, why);
        else if (add_locked(cache, id, fetched, why, sizeof(why)))
            execrec_errstr(errstr, errstr_size, "schema id %" PRId32 ": %s", id, why);
        else
            schema = map->entries[find(map, id, &found)].schema;
    }
    pthread_rwlock_unlock(&cache->lock);
    return schema;
}

const execrec_avro_schema_t *execrec_schemamap_get(const execrec_schemamap_t *map, int32_t id) {
    return execrec_schemamap_lookup(map, id, NULL, 0);
}

int execrec_schemamap_find_name(const execrec_schemamap_t *map, const char *fullname, int32_t *id) {
    assert(map && fullname && id);
    execrec_schemamap_t *locked = (execrec_schemamap_t *)map;
    int rc = -1;
    pthread_rwlock_rdlock(&locked->lock);
    for (size_t i = 0; rc < 0 && i < map->n; i++) {
        const char *name = execrec_avro_schema_name(map->entries[i].schema);
        if (name && !strcmp(name, fullname)) {
            *id = map->entries[i].id;
            rc = 0;
        }
    }
    pthread_rwlock_unlock(&locked->lock);
    return rc;
}

execrec_err_t execrec_schemamap_load(execrec_schemamap_t *map, const char *path, char *errstr,
                                     size_t errstr_size) {
    assert(map && path);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        execrec_errstr(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return EXECREC_ERR_IO;
    }
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    char line[4096];
    int lineno = 0;
    execrec_err_t err = EXECREC_OK;
    /* Ids seen in this file: a repeated id in one map is a mistake, not an update. */
    int32_t *seen = NULL;
    size_t nseen = 0;
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        size_t ll = strlen(line);
        if (ll == sizeof(line) - 1 && line[ll - 1] != '\n') {
            execrec_errstr(errstr, errstr_size, "%s:%d: line too long", path, lineno);
            err = EXECREC_ERR_INVALID;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
            *--e = '\0';
        if (!*s)
            continue;
        char *end;
        errno = 0;
        long long id = strtoll(s, &end, 10);
        if (end == s || errno || id < 0 || id > INT32_MAX || (*end != ' ' && *end != '\t')) {
            execrec_errstr(errstr, errstr_size, "%s:%d: expected \"<id> <path.avsc>\" with id 0-%d",
                           path, lineno, INT32_MAX);
            err = EXECREC_ERR_INVALID;
            break;
        }
        while (*end == ' ' || *end == '\t')
            end++;
        for (size_t i = 0; i < nseen; i++)
            if (seen[i] == (int32_t)id) {
                execrec_errstr(errstr, errstr_size, "%s:%d: schema id %lld listed twice", path,
                               lineno, id);
                err = EXECREC_ERR_INVALID;
                goto done;
            }
        char *file;
        if (*end == '/' || !dirlen) {
            file = strdup(end);
        } else {
            size_t n = dirlen + strlen(end) + 1;
            file = malloc(n);
            if (file)
                snprintf(file, n, "%.*s%s", (int)dirlen, path, end);
        }
        int32_t *ns = realloc(seen, (nseen + 1) * sizeof(*seen));
        if (!file || !ns) {
            free(file);
            if (ns)
                seen = ns;
            execrec_errstr(errstr, errstr_size, "out of memory");
            err = EXECREC_ERR_NOMEM;
            break;
        }
        seen = ns;
        seen[nseen++] = (int32_t)id;
        char why[384];
        execrec_avro_schema_t *schema = execrec_avro_schema_load(file, why, sizeof(why));
        free(file);
        if (!schema) {
            execrec_errstr(errstr, errstr_size, "%s:%d: %s", path, lineno, why);
            err = EXECREC_ERR_INVALID;
            break;
        }
        err = execrec_schemamap_add(map, (int32_t)id, schema, why, sizeof(why));
        if (err) {
            execrec_errstr(errstr, errstr_size, "%s:%d: %s", path, lineno, why);
            break;
        }
    }
    if (!err && ferror(fp)) {
        execrec_errstr(errstr, errstr_size, "%s: read error", path);
        err = EXECREC_ERR_IO;
    }
done:
    free(seen);
    fclose(fp);
    return err;
}
