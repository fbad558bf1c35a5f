/* Invariants of the configuration parser (include/execrec/config.h) for arbitrary
 * text, shared by the libFuzzer target fuzz_config.c and the corpus test
 * tests/unit/test_fuzz_config_corpus.c: a properties file, a -X key=value and a
 * whole command line (with EXECREC_* environment variables and a --config file)
 * give the configuration an independent reading of the same text gives, or a
 * usage error that names where, with the documented exit code. See
 * docs/fuzzing.md. */
#ifndef EXECREC_FUZZ_CONFIG_CHECK_H
#define EXECREC_FUZZ_CONFIG_CHECK_H

#include <stddef.h>
#include <stdint.h>

/** Creates the scratch directory the properties file is written to. Call once.
 *  @returns 0, or -1 and errstr. */
int fuzz_config_init(char *errstr, size_t errstr_size);
/** Removes it. */
void fuzz_config_fini(void);

/** Checks one input; byte 0 bits 0-1 pick the entry point:
 *   0: the rest is a properties file (execrec_config_load_file);
 *   1: the rest, up to a NUL, is one -X argument (execrec_config_set_kafka);
 *   2, 3: the rest, split at NUL bytes, is a command line for
 *      execrec_config_parse_args with the key list (byte 0 >> 2) % 3 (every key;
 *      a Kafka command's; a command without Kafka). An item starting with byte 1
 *      is an environment variable NAME=VALUE instead (only EXECREC_* names), one
 *      starting with byte 2 the content of the properties file, and the item "@"
 *      that file's path.
 *  @returns 0 if every invariant holds (an empty input is skipped), -1 and the
 *  first violation in why. */
int fuzz_config_check_input(const uint8_t *data, size_t size, char *why, size_t why_size);

#endif
