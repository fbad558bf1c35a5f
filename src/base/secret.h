/* Secrets in the configuration: which librdkafka properties hold one, hiding a
 * password inside a PostgreSQL connection string (in place, so that the process's
 * argument list no longer shows it), and files that hold a secret (read one, tell
 * whether others may read it). */
#ifndef EXECREC_SECRET_H
#define EXECREC_SECRET_H

#include <stddef.h>
#include "execrec/err.h"

/** @returns 1 when the librdkafka property key holds a secret: sasl.password,
 *  ssl.key.password, ssl.keystore.password, sasl.oauthbearer.client.secret, any
 *  key ending in .password or .secret, ssl.key.pem (a private key) and
 *  sasl.oauthbearer.config (may carry credentials); else 0. */
int execrec_secret_kafka_key(const char *key);

/** Overwrites with '*', in place, the value of every password keyword (password,
 *  sslpassword: any keyword containing "password") of a libpq connection string in
 *  keyword=value form (quoted values too), and the password of a postgresql:// or
 *  postgres:// URI (user:PASSWORD@ and ?password=). The string keeps its length;
 *  nothing else changes. @returns the number of values overwritten. */
int execrec_secret_mask_conninfo(char *conninfo);

/** Overwrites every byte of s with '*'. */
void execrec_secret_mask(char *s);

/** Reads the secret held by the file at path (a --dsn-file): its whole content
 *  without trailing line breaks and spaces, into *value (malloc'd, the caller
 *  frees). An empty file, or one larger than 64 KiB, is refused.
 *  @returns EXECREC_OK; EXECREC_ERR_IO or EXECREC_ERR_INVALID with errstr naming
 *  the file (never its content); EXECREC_ERR_NOMEM. */
execrec_err_t execrec_secret_read_file(const char *path, char **value, char *errstr,
                                       size_t errstr_size) EXECREC_MUSTCHECK;

/** @returns 1 when the file at path gives its group or others any permission (its
 *  mode's 077 bits: a secret in it is readable by more than its owner), with
 *  *mode its permission bits; 0 when not, or when it cannot be stat'ed. */
int execrec_secret_file_exposed(const char *path, unsigned *mode);

#endif
