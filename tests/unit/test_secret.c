/* Secrets: which librdkafka properties hold one, masking the passwords of a
 * connection string in place, and files holding a secret. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/secret.h"
#include "testutil.h"

START_TEST(test_kafka_keys) {
    static const char *const secret[] = {"sasl.password",
                                         "ssl.key.password",
                                         "ssl.keystore.password",
                                         "sasl.oauthbearer.client.secret",
                                         "ssl.key.pem",
                                         "sasl.oauthbearer.config",
                                         "some.future.password",
                                         "some.future.secret",
                                         NULL};
    static const char *const plain[] = {"sasl.username",
                                        "ssl.ca.location",
                                        "security.protocol",
                                        "sasl.mechanism",
                                        "ssl.key.location",
                                        "bootstrap.servers",
                                        NULL};
    for (int i = 0; secret[i]; i++)
        ck_assert_msg(execrec_secret_kafka_key(secret[i]), "%s is a secret", secret[i]);
    for (int i = 0; plain[i]; i++)
        ck_assert_msg(!execrec_secret_kafka_key(plain[i]), "%s is not a secret", plain[i]);
}
END_TEST

START_TEST(test_mask_conninfo) {
    static const struct {
        const char *in, *out;
        int n;
    } cases[] = {
        {"host=db password=hunter2 dbname=x", "host=db password=******* dbname=x", 1},
        {"password = 'a b\\'c' user=u", "password = '******' user=u", 1},
        {"host=db sslpassword=k password=p\\ q", "host=db sslpassword=* password=****", 2},
        {"host=db dbname=x", "host=db dbname=x", 0},
        {"postgresql://u:s3cret@db:5432/x?sslmode=require",
         "postgresql://u:******@db:5432/x?sslmode=require", 1},
        {"postgres://u@db/x?password=pw&sslmode=verify-full",
         "postgres://u@db/x?password=**&sslmode=verify-full", 1},
        {"postgresql://db/x", "postgresql://db/x", 0},
        {"postgresql://u:a@b@db/x", "postgresql://u:*@b@db/x", 1}, /* libpq: up to the first @ */
        {"", "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", cases[i].in);
        ck_assert_int_eq(execrec_secret_mask_conninfo(buf), cases[i].n);
        ck_assert_str_eq(buf, cases[i].out);
    }
    ck_assert_int_eq(execrec_secret_mask_conninfo(NULL), 0);
}
END_TEST

START_TEST(test_read_file) {
    char path[] = "/tmp/execrec_secret_XXXXXX", errstr[256], *v = NULL;
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "host=db password=x\r\n\n", 21), 21);
    close(fd);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(execrec_secret_read_file(path, &v, errstr, sizeof(errstr)), EXECREC_OK);
    ck_assert_str_eq(v, "host=db password=x");
    free(v);
    unsigned mode = 0;
    ck_assert_int_eq(execrec_secret_file_exposed(path, &mode), 0);
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(execrec_secret_file_exposed(path, &mode), 1);
    ck_assert_uint_eq(mode, 0640);
    ck_assert_int_eq(chmod(path, 0604), 0);
    ck_assert_int_eq(execrec_secret_file_exposed(path, &mode), 1);
    ck_assert_uint_eq(mode, 0604);
    ck_assert_int_eq(truncate(path, 0), 0);
    ck_assert_int_eq(execrec_secret_read_file(path, &v, errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(errstr, "empty"));
    unlink(path);
    ck_assert_int_eq(execrec_secret_read_file(path, &v, errstr, sizeof(errstr)), EXECREC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(errstr, path));
    ck_assert_int_eq(execrec_secret_file_exposed(path, &mode), 0);
}
END_TEST

static Suite *secret_suite(void) {
    Suite *s = suite_create("secret");
    TCase *tc = tcase_create("secret");
    tcase_add_test(tc, test_kafka_keys);
    tcase_add_test(tc, test_mask_conninfo);
    tcase_add_test(tc, test_read_file);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(secret_suite)
