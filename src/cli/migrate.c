/* placeholder replaced by the migrate module owner */
#include "execrec/cli.h"
int execrec_cli_migrate(int argc, char **argv) { (void)argc; (void)argv; return EXECREC_EXIT_FAIL; }
