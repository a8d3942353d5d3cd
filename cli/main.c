/* main.c — rabulk: bulk RemoteApp session operations. */
#include "cli/args.h"
#include "cli/complete.h"
#include "cli/drain.h"
#include "cli/result.h"
#include "cli/run.h"
#include "cli/merge.h"
#include "cli/sessions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The version is debian/changelog's latest (the Makefile passes it). */
#ifndef RABULK_VERSION
#error "RABULK_VERSION is not defined: build with make"
#endif

/* Descriptors 0-2 closed by whoever started us would be taken by the
 * first open() or socket (libcurl's socketpair, the report), and rows would
 * go there. Before anything opens a descriptor each closed one is opened
 * on /dev/null, as daemons and git do. Returns whether stdout was closed. */
static bool open_std_streams(void)
{
	bool out_closed = false;
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		out_closed |= fd == STDOUT_FILENO;
		int nul = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (nul >= 0 && nul != fd) /* cannot happen: fd was the lowest free */
			close(nul);
	}
	return out_closed;
}

int main(int argc, char **argv)
{
	struct args o;
	char err[512];
	bool stdout_closed = open_std_streams();
	if (args_parse(argc, argv, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "rabulk: %s\n%s", err, args_usage());
		return EXIT_USAGE;
	}
	if (o.help) {
		fputs(args_usage(), stdout);
		return 0;
	}
	if (o.version) {
		printf("rabulk %s\n", RABULK_VERSION);
		return 0;
	}
	if (o.completion)
		return complete_script(stdout, o.completion) < 0 ? EXIT_INTERNAL : 0;
	bool to_stdout = o.merge || o.result || o.list || (o.report && strcmp(o.report, "-") == 0);
	if (stdout_closed && to_stdout && !o.dry_run) {
		fprintf(stderr, "rabulk: standard output is closed: nowhere to write the %s\n",
			o.report && strcmp(o.report, "-") == 0 ? "report (--report -)" : "output");
		return EXIT_USAGE;
	}
	if (o.merge)
		return merge_run(&o);
	if (o.result)
		return result_run(&o);
	if (o.drain)
		return drain_run(&o);
	return o.list ? sessions_run(&o) : run(&o);
}
