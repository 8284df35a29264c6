/* `fnbox serve` HTTP front end (serve_http.c): one libmicrohttpd daemon, a thread per
 * connection, dispatching to the registry and pools of api/serve.h. */
#ifndef FB_API_SERVE_HTTP_H
#define FB_API_SERVE_HTTP_H

#include <json-c/json.h>
#include <microhttpd.h>
#include <sys/socket.h>

#include "api/serve.h"

/* Start listening on addr; NULL with err on failure. Stop with MHD_stop_daemon. */
struct MHD_Daemon *fb_serve_http_start(struct fb_server *s, const struct sockaddr *addr, bool ipv6,
                                       struct fb_error *err);

/* Wait until no request is between its start and the end of its response (or timeout_ms). */
void fb_serve_http_wait_idle(uint32_t timeout_ms);

#endif
