/* evloop.h — drives one curl multi handle from epoll. */
#ifndef RABULK_EVLOOP_H
#define RABULK_EVLOOP_H

#include <curl/curl.h>

struct evloop;

/* Takes over multi's socket and timer callbacks. NULL when out of memory
 * or out of descriptors. Free it after curl_multi_cleanup(multi): closing
 * the pooled connections calls back into it. */
struct evloop *evloop_new(CURLM *multi);
void evloop_free(struct evloop *ev);

/* Every easy handle added to the multi must be set up with this: libcurl
 * opens and closes its connection sockets through the loop. */
void evloop_easy(struct evloop *ev, CURL *easy);

/* Waits at most max_wait_ms (or less, when libcurl's timer is due sooner)
 * for sockets, the timer or a wakeup, and lets libcurl act on them. */
void evloop_turn(struct evloop *ev, long max_wait_ms);

/* Ends the current or next evloop_turn early. Any thread. */
void evloop_wake(struct evloop *ev);

#endif
