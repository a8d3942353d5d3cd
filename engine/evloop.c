/* evloop.c — one curl multi handle driven by epoll and
 * curl_multi_socket_action().
 *
 * Why not curl_multi_poll(): libcurl then checks each transfer's socket with
 * a poll() of its own before reading it, one more system call per request;
 * told by socket_action() which socket is ready, it reads straight away.
 *
 * Registration is lazy. A kept-alive HTTP/1.1 connection goes from "wanted
 * for reading" (request sent) to "not wanted" (response read) and back with
 * every request; following libcurl to the letter costs two epoll_ctl() calls
 * per request. Instead a socket stays in the epoll set when libcurl lets go
 * of it, and is taken out only if it reports an event while unwanted (the
 * server closed an idle connection). Only connection sockets are treated
 * so: libcurl opens and closes them through our CURLOPT_OPENSOCKETFUNCTION
 * and CURLOPT_CLOSESOCKETFUNCTION, so a descriptor number reused for a new
 * socket never inherits a stale registration. Other sockets (the threaded
 * resolver's socket pair, closed behind our back) follow libcurl exactly. */
#include "engine/evloop.h"
#include "lib/array.h"
#include "lib/clock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define EVENTS_MAX 256

/* What we know of a descriptor: what libcurl wants and what the epoll set
 * holds (epoll event masks, 0 for none), and whether it is a connection
 * socket (opened through on_open). */
struct fdstate {
	uint32_t want, reg;
	bool conn;
};

struct evloop {
	CURLM *multi;
	int ep, wakefd;
	int64_t timer_due;  /* monotonic ms; -1: no timer */
	struct fdstate *fd; /* by descriptor number */
	size_t cap;
};

/* Makes room for descriptor fd; states of new descriptors start empty. */
static int fit(struct evloop *ev, curl_socket_t fd)
{
	size_t old = ev->cap;
	int rc = array_grow((void **)&ev->fd, &ev->cap, (size_t)fd + 1, sizeof(*ev->fd), 1024);
	if (rc == 0 && ev->cap > old)
		memset(ev->fd + old, 0, (ev->cap - old) * sizeof(*ev->fd));
	return rc;
}

static void set_reg(struct evloop *ev, curl_socket_t fd, uint32_t events)
{
	struct epoll_event e = {.events = events, .data.fd = fd};
	int op = !events ? EPOLL_CTL_DEL : ev->fd[fd].reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	int rc = epoll_ctl(ev->ep, op, fd, &e);
	if (rc < 0 && op == EPOLL_CTL_MOD && errno == ENOENT)
		rc = epoll_ctl(ev->ep, EPOLL_CTL_ADD, fd, &e);
	else if (rc < 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
		rc = epoll_ctl(ev->ep, EPOLL_CTL_MOD, fd, &e);
	if (rc == 0 || op == EPOLL_CTL_DEL)
		ev->fd[fd].reg = events;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *socketp)
{
	struct evloop *ev = arg;
	(void)easy, (void)socketp;
	if (fd < 0 || fit(ev, fd) < 0)
		return -1;
	uint32_t events = what == CURL_POLL_REMOVE ? 0
						   : (what & CURL_POLL_IN ? EPOLLIN : 0) |
							 (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev->fd[fd].want = events;
	if (!ev->fd[fd].conn || (events && events != ev->fd[fd].reg))
		set_reg(ev, fd, events);
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct evloop *ev = arg;
	(void)multi;
	ev->timer_due = timeout_ms < 0 ? -1 : clock_mono_ms() + timeout_ms;
	return 0;
}

static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct evloop *ev = arg;
	curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
	(void)purpose;
	if (fd >= 0 && fit(ev, fd) == 0)
		ev->fd[fd] = (struct fdstate){.conn = true};
	return fd;
}

/* Closing a socket drops it from the epoll set by itself. */
static int on_close(void *arg, curl_socket_t fd)
{
	struct evloop *ev = arg;
	if (fd >= 0 && (size_t)fd < ev->cap)
		ev->fd[fd] = (struct fdstate){0};
	return close(fd);
}

struct evloop *evloop_new(CURLM *multi)
{
	struct evloop *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	ev->multi = multi, ev->timer_due = -1;
	ev->ep = epoll_create1(EPOLL_CLOEXEC);
	ev->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event e = {.events = EPOLLIN, .data.fd = ev->wakefd};
	if (ev->ep < 0 || ev->wakefd < 0 || epoll_ctl(ev->ep, EPOLL_CTL_ADD, ev->wakefd, &e) < 0) {
		evloop_free(ev);
		return NULL;
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, ev);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(multi, CURLMOPT_TIMERDATA, ev);
	return ev;
}

void evloop_free(struct evloop *ev)
{
	if (!ev)
		return;
	if (ev->ep >= 0)
		close(ev->ep);
	if (ev->wakefd >= 0)
		close(ev->wakefd);
	free(ev->fd);
	free(ev);
}

void evloop_easy(struct evloop *ev, CURL *easy)
{
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, ev);
	curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close);
	curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, ev);
}

void evloop_wake(struct evloop *ev)
{
	uint64_t one = 1;
	ssize_t n = write(ev->wakefd, &one, sizeof(one));
	(void)n; /* a full counter (EAGAIN) is a pending wakeup already */
}

static int curl_bits(uint32_t events)
{
	return (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP) ? CURL_CSELECT_IN : 0) |
	       (events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
	       (events & EPOLLERR ? CURL_CSELECT_ERR : 0);
}

static long wait_ms(const struct evloop *ev, long max_wait_ms)
{
	if (ev->timer_due < 0)
		return max_wait_ms;
	int64_t d = ev->timer_due - clock_mono_ms();
	return d <= 0 ? 0 : d < max_wait_ms ? (long)d : max_wait_ms;
}

void evloop_turn(struct evloop *ev, long max_wait_ms)
{
	struct epoll_event e[EVENTS_MAX];
	int running, n = epoll_wait(ev->ep, e, EVENTS_MAX, (int)wait_ms(ev, max_wait_ms));
	for (int i = 0; i < n; i++) {
		int fd = e[i].data.fd;
		uint64_t count;
		if (fd == ev->wakefd) {
			ssize_t r = read(fd, &count, sizeof(count));
			(void)r;
		} else if ((size_t)fd >= ev->cap || !ev->fd[fd].want)
			set_reg(ev, fd, 0); /* an idle connection spoke: libcurl will see it */
		else
			curl_multi_socket_action(ev->multi, fd, curl_bits(e[i].events), &running);
	}
	if (ev->timer_due >= 0 && ev->timer_due <= clock_mono_ms()) {
		ev->timer_due = -1;
		curl_multi_socket_action(ev->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
}
