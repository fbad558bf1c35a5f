/* placeholder replaced by the normalise module owner */
#include "execrec/cli.h"
int execrec_cli_decode(int argc, char **argv) { (void)argc; (void)argv; return EXECREC_EXIT_FAIL; }
