/* The Schema Registry client (registry.h) against tests/registry/registry_server.py:
 * fetch by id, Confluent's 404, register with stable ids, the lookup hook behind an
 * offline registry (and its cache), an unreachable registry (fail fast), a registry
 * that never answers (timeout), and credentials kept out of messages. */
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "execrec/avro.h"
#include "execrec/schemamap.h"
#include "execrec/registry.h"
#include "testutil.h"

static char url[64];
static char dir[] = "/tmp/execrec_registry.XXXXXX";
static pid_t server_pid;

static void server_start(void) {
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *script = tu_source_path("tests/registry/registry_server.py");
    char *map = tu_source_path("schemas/registry.map");
    char portfile[128];
    snprintf(portfile, sizeof(portfile), "%s/port", dir);
    server_pid = fork();
    ck_assert_int_ge(server_pid, 0);
    if (server_pid == 0) {
        execlp("python3", "python3", script, "--map", map, "--port-file", portfile, (char *)NULL);
        _exit(127);
    }
    free(script);
    free(map);
    for (int i = 0; i < 150; i++) { /* 15 s at most */
        FILE *f = fopen(portfile, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port > 0) {
            snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
            return;
        }
        usleep(100 * 1000);
    }
    ck_abort_msg("registry_server.py wrote no port");
}

/* The checked fixture's teardown too, so that a failed test leaves no server. */
static void server_stop(void) {
    if (server_pid > 0)
        kill(server_pid, SIGTERM);
    server_pid = 0;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static int64_t ms_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(test_fetch_and_register) {
    char errstr[512];
    server_start();
    execrec_registry_t *sr = execrec_registry_new(url, 0, errstr, sizeof(errstr));
    ck_assert_msg(sr, "%s", errstr);
    char *text = NULL;
    ck_assert_int_eq(execrec_registry_fetch(sr, 3, &text, errstr, sizeof(errstr)), EXECREC_OK);
    ck_assert_ptr_nonnull(strstr(text, "\"name\": \"Trade\""));
    ck_assert_int_eq(execrec_registry_fetch(sr, 99, &text, errstr, sizeof(errstr)),
                     EXECREC_ERR_NOTFOUND);
    ck_assert_msg(strstr(errstr, "/schemas/ids/99: HTTP 404: Schema not found (error_code 40403)"),
                  "%s", errstr);
    /* The map's text gets the map's id; a new text a new id, stable. */
    int32_t id = -1;
    ck_assert_int_eq(
        execrec_registry_register(sr, "trades-value", text, &id, errstr, sizeof(errstr)),
        EXECREC_OK);
    ck_assert_int_eq(id, 3);
    const char *other = "{\"type\":\"record\",\"name\":\"X\",\"fields\":[]}";
    ck_assert_int_eq(execrec_registry_register(sr, "x/y-value", other, &id, errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_int_eq(id, 5);
    ck_assert_int_eq(execrec_registry_register(sr, "x/y-value", other, &id, errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_int_eq(id, 5);
    ck_assert_int_eq(
        execrec_registry_register(sr, "bad-value", "not json", &id, errstr, sizeof(errstr)),
        EXECREC_ERR_INVALID);
    ck_assert_msg(strstr(errstr, "HTTP 422: Invalid schema (error_code 42201)"), "%s", errstr);
    free(text);

    /* Behind an offline registry: fetched once, then cached (the server is gone). */
    execrec_schemamap_t *reg = execrec_schemamap_new();
    execrec_registry_attach(sr, reg);
    ck_assert_ptr_nonnull(execrec_schemamap_lookup(reg, 5, errstr, sizeof(errstr)));
    ck_assert_ptr_null(execrec_schemamap_lookup(reg, 77, errstr, sizeof(errstr)));
    ck_assert_msg(strstr(errstr, "schema id 77: schema registry http://127.0.0.1:"), "%s", errstr);
    server_stop();
    usleep(300 * 1000);
    ck_assert_ptr_nonnull(execrec_schemamap_get(reg, 5));
    int32_t found;
    ck_assert_int_eq(execrec_schemamap_find_name(reg, "X", &found), 0);
    ck_assert_int_eq(found, 5);
    execrec_schemamap_destroy(reg);
    execrec_registry_destroy(sr);
}
END_TEST

START_TEST(test_unreachable_fails_fast) {
    char errstr[512];
    /* Port 1 on loopback: nothing listens, the connection is refused. */
    execrec_registry_t *sr =
        execrec_registry_new("http://user:secret@127.0.0.1:1", 0, errstr, sizeof(errstr));
    ck_assert_msg(sr, "%s", errstr);
    char *text = NULL;
    ck_assert_int_eq(execrec_registry_fetch(sr, 1, &text, errstr, sizeof(errstr)), EXECREC_ERR_IO);
    ck_assert_str_eq(errstr, "schema registry http://***@127.0.0.1:1/schemas/ids/1: Couldn't "
                             "connect to server");
    ck_assert_int_eq(execrec_registry_fetch(sr, 2, &text, errstr, sizeof(errstr)), EXECREC_ERR_IO);
    ck_assert_msg(strstr(errstr, "(not retried for 1000 ms)"), "%s", errstr);
    ck_assert_ptr_null(strstr(errstr, "secret"));
    execrec_registry_destroy(sr);
    ck_assert_ptr_null(execrec_registry_new("ftp://x", 0, errstr, sizeof(errstr)));
    ck_assert_int_eq(execrec_registry_is_url("https://x"), 1);
    ck_assert_int_eq(execrec_registry_is_url("schemas/registry.map"), 0);
}
END_TEST

START_TEST(test_timeout) {
    char errstr[512], u[64];
    /* A server that accepts connections (the kernel's backlog) and never answers. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(u, sizeof(u), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    execrec_registry_t *sr = execrec_registry_new(u, 300, errstr, sizeof(errstr));
    char *text = NULL;
    int64_t t0 = ms_now();
    ck_assert_int_eq(execrec_registry_fetch(sr, 1, &text, errstr, sizeof(errstr)), EXECREC_ERR_IO);
    int64_t took = ms_now() - t0;
    ck_assert_msg(took >= 250 && took < 3000, "took %lld ms", (long long)took);
    ck_assert_msg(strstr(errstr, "Timeout was reached"), "%s", errstr);
    execrec_registry_destroy(sr);
    close(fd);
}
END_TEST

static Suite *registry_suite(void) {
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, NULL, server_stop);
    tcase_add_test(tc, test_fetch_and_register);
    tcase_add_test(tc, test_unreachable_fails_fast);
    tcase_add_test(tc, test_timeout);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(registry_suite)
