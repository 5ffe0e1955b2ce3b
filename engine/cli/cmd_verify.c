/* placeholder until this subcommand is written */
#include "cli.h"
int moem_cmd_verify(int argc, char **argv)
{
    (void)argc; (void)argv;
    moem_cli_error("verify", "not available in this build");
    return 2;
}
