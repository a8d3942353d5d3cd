/* complete.c — bash and zsh completion scripts from the option table.
 *
 * The scripts are made, not written: `rabulk --completion bash|zsh` prints
 * one from args_table() and args_commands(), the same table getopt_long and
 * --help use, and the Makefile runs it at build time into build/completions/.
 * So an option added to the table completes with no other change; a value
 * set added to a row (--service remoteapp|avd, say) completes too.
 *
 * What a script knows comes from the rows: the commands each option belongs
 * to, its value as --help names it (FILE and REPORT complete file names, CMD
 * a command) and its fixed set of values, if any. An option of two rows
 * (--format: the input's formats, sessions' output formats) completes by the
 * command on the line. Operands complete as files for the commands that read
 * files (INPUT, REPORT) and as nothing for the others (COLLECTION,
 * TRACKING_ID).
 *
 * bash: one function for bash-completion (_init_completion splits
 * --opt=value, _filedir completes file names). zsh: _arguments, one spec per
 * option of each command, with the first line of its help as description. */
#include "cli/complete.h"
#include "cli/args.h"
#include "lib/err.h"

#include <stdbool.h>
#include <string.h>

static bool takes_file(const char *arg)
{
	return arg && (!strcmp(arg, "FILE") || !strcmp(arg, "REPORT") || !strcmp(arg, "INPUT"));
}

static bool takes_command(const char *arg)
{
	return arg && !strcmp(arg, "CMD");
}

/* The first row of each name: later rows only add value sets. */
static bool first_row(const struct args_option *t)
{
	for (const struct args_option *r = args_table(); r != t; r++)
		if (!strcmp(r->name, t->name))
			return false;
	return true;
}

/* Rows of t's name after t, and t: how many value sets the option has. */
static int rows_of(const struct args_option *t)
{
	int n = 0;
	for (const struct args_option *r = t; r->name; r++)
		n += !strcmp(r->name, t->name);
	return n;
}

/* Words go into the scripts unquoted: letters, digits, '-', '.', '_' and
 * (in command names) one space. */
static bool plain(const char *s, bool space)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_' ||
		      (*s == ' ' && space)))
			return false;
	return true;
}

static bool table_is_plain(void)
{
	for (const struct args_option *t = args_table(); t->name; t++) {
		if (!plain(t->name, false) || (t->values && !plain(t->values, true)))
			return false;
		if (t->values &&
		    (strstr(t->values, "  ") || t->values[strlen(t->values) - 1] == ' '))
			return false;
	}
	for (const struct args_command *c = args_commands(); c->name; c++)
		if (!plain(c->name, true))
			return false;
	return true;
}

/* ---- bash ------------------------------------------------------------ */

/* "disconnect | logoff | 'report merge'": the commands in mask. */
static void bash_commands(FILE *out, unsigned mask)
{
	const char *sep = "";
	for (const struct args_command *c = args_commands(); c->name; c++)
		if (c->bit & mask) {
			fprintf(out, strchr(c->name, ' ') ? "%s'%s'" : "%s%s", sep, c->name);
			sep = " | ";
		}
	if (mask & ARGS_TOP)
		fprintf(out, "%s''", sep);
}

/* A case pattern of the options (first rows) that `keep` picks; false when
 * there is none. */
static bool bash_pattern(FILE *out, bool (*keep)(const struct args_option *))
{
	bool any = false;
	for (const struct args_option *t = args_table(); t->name; t++)
		if (first_row(t) && keep(t)) {
			fprintf(out, "%s--%s", any ? " | " : "    ", t->name);
			any = true;
		}
	if (any)
		fputs(")\n", out);
	return any;
}

static bool file_value(const struct args_option *t)
{
	return takes_file(t->arg) && !t->values;
}

static bool command_value(const struct args_option *t)
{
	return takes_command(t->arg) && !t->values;
}

static bool free_value(const struct args_option *t)
{
	return t->arg && !t->values && !takes_file(t->arg) && !takes_command(t->arg);
}

static void bash_values(FILE *out)
{
	if (bash_pattern(out, file_value))
		fputs("        _filedir\n        return\n        ;;\n", out);
	if (bash_pattern(out, command_value))
		fputs("        COMPREPLY=($(compgen -c -- \"$cur\"))\n        return\n        ;;\n",
		      out);
	for (const struct args_option *t = args_table(); t->name; t++) {
		if (!t->values || !first_row(t))
			continue;
		fprintf(out, "    --%s)\n", t->name);
		if (rows_of(t) == 1) {
			fprintf(out, "        COMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n",
				t->values);
		} else {
			fputs("        case $cmd in\n", out);
			for (const struct args_option *r = t; r->name; r++) {
				if (strcmp(r->name, t->name) != 0)
					continue;
				fputs("        ", out);
				bash_commands(out, r->commands);
				fprintf(out, ") COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n",
					r->values);
			}
			fputs("        esac\n", out);
		}
		fputs("        return\n        ;;\n", out);
	}
	if (bash_pattern(out, free_value))
		fputs("        return # a value rabulk cannot guess\n        ;;\n", out);
}

/* The commands any row of t's name is for. */
static unsigned commands_of(const struct args_option *t)
{
	unsigned mask = 0;
	for (const struct args_option *r = args_table(); r->name; r++)
		if (!strcmp(r->name, t->name))
			mask |= r->commands;
	return mask;
}

static void bash_options(FILE *out, unsigned bit)
{
	const char *sep = "";
	for (const struct args_option *t = args_table(); t->name; t++)
		if (first_row(t) && (commands_of(t) & bit)) {
			fprintf(out, "%s--%s", sep, t->name);
			sep = " ";
		}
}

static void bash(FILE *out)
{
	fputs("# bash completion for rabulk                               -*- shell-script -*-\n"
	      "# Made by `rabulk --completion bash` from rabulk's option table (cli/args.c):\n"
	      "# regenerate it rather than edit it. Needs bash-completion. Installed as\n"
	      "# /usr/share/bash-completion/completions/rabulk, or: source <(rabulk --completion "
	      "bash)\n"
	      "\n"
	      "_rabulk()\n"
	      "{\n"
	      "    local cur prev words cword split\n"
	      "    _init_completion -s || return\n"
	      "\n"
	      "    local cmd=${words[1]}\n"
	      "    if ((cword == 1)); then\n"
	      "        if [[ $cur == -* ]]; then\n"
	      "            COMPREPLY=($(compgen -W '",
	      out);
	bash_options(out, ARGS_TOP);
	fputs("' -- \"$cur\"))\n"
	      "        else\n"
	      "            COMPREPLY=($(compgen -W '",
	      out);
	const char *sep = "";
	for (const struct args_command *c = args_commands(); c->name; c++) {
		const char *space = strchr(c->name, ' ');
		fprintf(out, "%s%.*s", sep, space ? (int)(space - c->name) : (int)strlen(c->name),
			c->name);
		sep = " ";
	}
	fputs("' -- \"$cur\"))\n"
	      "        fi\n"
	      "        return\n"
	      "    fi\n"
	      "    case $cmd in\n"
	      "    -*) cmd= ;;\n"
	      "    report)\n"
	      "        if ((cword == 2)); then\n"
	      "            COMPREPLY=($(compgen -W 'merge' -- \"$cur\"))\n"
	      "            return\n"
	      "        fi\n"
	      "        cmd='report merge'\n"
	      "        ;;\n"
	      "    esac\n"
	      "\n"
	      "    case $prev in\n",
	      out);
	bash_values(out);
	fputs("    esac\n"
	      "    $split && return\n"
	      "\n"
	      "    local opts files=\n"
	      "    case $cmd in\n",
	      out);
	for (const struct args_command *c = args_commands(); c->name; c++) {
		fputs("    ", out);
		bash_commands(out, c->bit);
		fputs(") opts='", out);
		bash_options(out, c->bit);
		fprintf(out, "'%s ;;\n", takes_file(c->operand) ? " files=1" : "");
	}
	fputs("    '') opts='", out);
	bash_options(out, ARGS_TOP);
	fputs("' ;;\n"
	      "    esac\n"
	      "    if [[ $cur == -* ]]; then\n"
	      "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	      "    elif [[ $files ]]; then\n"
	      "        _filedir\n"
	      "    fi\n"
	      "} &&\n"
	      "    complete -F _rabulk rabulk\n",
	      out);
}

/* ---- zsh ------------------------------------------------------------- */

/* s up to its first newline, inside a single-quoted _arguments spec:
 * backslash before the characters _arguments gives a meaning, '\'' for a
 * quote. */
static void zsh_text(FILE *out, const char *s)
{
	for (; *s && *s != '\n'; s++) {
		if (*s == '\'')
			fputs("'\\''", out);
		else if (strchr("[]:\\", *s))
			fprintf(out, "\\%c", *s);
		else
			fputc(*s, out);
	}
}

/* The help of t's name (its first row's). */
static const char *help_of(const struct args_option *t)
{
	for (const struct args_option *r = args_table(); r->name; r++)
		if (!strcmp(r->name, t->name) && r->help)
			return r->help;
	return "";
}

static void zsh_spec(FILE *out, const struct args_option *t)
{
	fprintf(out, "        '--%s%s[", t->name, t->arg ? "=" : "");
	zsh_text(out, help_of(t));
	fputc(']', out);
	if (t->arg) {
		fputc(':', out);
		zsh_text(out, t->arg);
		if (t->values)
			fprintf(out, ":(%s)", t->values);
		else if (takes_file(t->arg))
			fputs(":_files", out);
		else if (takes_command(t->arg))
			fputs(":_cmdstring", out);
		else
			fputs(": ", out);
	}
	fputs("' \\\n", out);
}

/* _arguments for the rows of command bit; operand: NULL for none. */
static void zsh_arguments(FILE *out, unsigned bit, const char *operand)
{
	fputs("      _arguments -S \\\n", out);
	for (const struct args_option *t = args_table(); t->name; t++)
		if (t->commands & bit)
			zsh_spec(out, t);
	if (operand)
		fprintf(out, "        '*:%s:%s' && ret=0\n", operand,
			takes_file(operand) ? "_files" : " ");
	else
		fputs("        && ret=0\n", out);
}

static void zsh(FILE *out)
{
	fputs("#compdef rabulk\n"
	      "# zsh completion for rabulk. Made by `rabulk --completion zsh` from rabulk's\n"
	      "# option table (cli/args.c): regenerate it rather than edit it. Installed as\n"
	      "# /usr/share/zsh/vendor-completions/_rabulk, or, in ~/.zshrc after compinit:\n"
	      "#   source <(rabulk --completion zsh)\n"
	      "\n"
	      "_rabulk() {\n"
	      "  local ret=1 cmd\n"
	      "  local -a commands\n"
	      "  commands=(\n",
	      out);
	for (const struct args_command *c = args_commands(); c->name; c++) {
		const char *space = strchr(c->name, ' ');
		fprintf(out, "    '%.*s:", space ? (int)(space - c->name) : (int)strlen(c->name),
			c->name);
		zsh_text(out, c->help);
		fputs("'\n", out);
	}
	fputs("  )\n"
	      "  if (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then\n"
	      "    _describe -t commands 'rabulk command' commands && ret=0\n"
	      "    return ret\n"
	      "  fi\n"
	      "  cmd=$words[2]\n"
	      "  if [[ $cmd == -* ]]; then\n",
	      out);
	zsh_arguments(out, ARGS_TOP, NULL);
	fputs("    return ret\n"
	      "  fi\n"
	      "  shift words\n"
	      "  (( CURRENT-- ))\n"
	      "  if [[ $cmd == report ]]; then\n"
	      "    if (( CURRENT == 2 )); then\n"
	      "      local -a sub\n"
	      "      sub=('merge:",
	      out);
	for (const struct args_command *c = args_commands(); c->name; c++)
		if (c->bit == ARGS_MERGE)
			zsh_text(out, c->help);
	fputs("')\n"
	      "      _describe -t commands 'rabulk report command' sub && ret=0\n"
	      "      return ret\n"
	      "    fi\n"
	      "    cmd='report merge'\n"
	      "    shift words\n"
	      "    (( CURRENT-- ))\n"
	      "  fi\n"
	      "  case $cmd in\n",
	      out);
	for (const struct args_command *c = args_commands(); c->name; c++) {
		fprintf(out, strchr(c->name, ' ') ? "    '%s')\n" : "    %s)\n", c->name);
		zsh_arguments(out, c->bit, c->operand);
		fputs("      ;;\n", out);
	}
	fputs("  esac\n"
	      "  return ret\n"
	      "}\n"
	      "\n"
	      "if [[ $funcstack[1] == _rabulk ]]; then\n"
	      "  _rabulk \"$@\"\n"
	      "else\n"
	      "  compdef _rabulk rabulk\n"
	      "fi\n",
	      out);
}

int complete_script(FILE *out, const char *shell)
{
	if (!table_is_plain())
		return ERR_INVAL;
	if (!strcmp(shell, "bash"))
		bash(out);
	else if (!strcmp(shell, "zsh"))
		zsh(out);
	else
		return ERR_INVAL;
	return fflush(out) == 0 && !ferror(out) ? 0 : ERR_IO;
}
