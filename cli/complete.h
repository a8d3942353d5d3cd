/* complete.h — shell completion scripts, made from the option table. */
#ifndef RABULK_COMPLETE_H
#define RABULK_COMPLETE_H

#include <stdio.h>

/* Writes the completion script for shell ("bash" or "zsh") to out: the
 * commands, each command's options (args_table()), the values of options
 * with a fixed set, file names where a file is expected. Returns 0,
 * ERR_INVAL for another shell or a table word no script could hold, ERR_IO
 * when out fails. Not thread-safe (args_table's first use). */
int complete_script(FILE *out, const char *shell);

#endif
