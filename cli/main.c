/* main.c — rabulk: bulk RemoteApp session operations. */
#include "cli/args.h"
#include "cli/drain.h"
#include "cli/result.h"
#include "cli/run.h"
#include "cli/merge.h"
#include "cli/sessions.h"

#include <stdio.h>

#define RABULK_VERSION "0.1.0"

int main(int argc, char **argv)
{
	struct options o;
	char err[512];
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
	if (o.merge)
		return merge_run(&o);
	if (o.result)
		return result_run(&o);
	if (o.drain)
		return drain_run(&o);
	return o.list ? sessions_run(&o) : run(&o);
}
