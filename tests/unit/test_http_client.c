/*
 * http_client's kept connections, against a small HTTP/1.1 server on
 * 127.0.0.1 that counts the connections it accepts and keeps each request's
 * head and body: calls of one policy reuse a connection, no header of one
 * call reaches the next, bodies arrive whole on a reused connection, a POST
 * always opens its own, and a connection is never reused under another policy (a public-only call
 * to 127.0.0.1 is refused even while a connection to it is open).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "core/http_client.h"

#define MAX_CONNS 16

typedef struct {
    int fd;
    char buf[8192];
    size_t len;
} conn;

static int listen_fd = -1;
static int port;
static atomic_int accepts;
static atomic_bool stop;
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_head[4096]; /* the last request's line and headers */
static char last_body[256];

/* Answers every complete request in c (keep-alive); false when it closed. */
static bool serve(conn *c) {
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1);
    if (n <= 0) return false;
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    for (;;) {
        char *end = strstr(c->buf, "\r\n\r\n");
        if (!end) return true;
        size_t head = (size_t)(end - c->buf) + 4, body = 0;
        const char *cl = strcasestr(c->buf, "\r\nContent-Length:");
        if (cl && cl < end) body = strtoul(cl + 17, NULL, 10);
        if (c->len < head + body) return true;
        pthread_mutex_lock(&last_lock);
        snprintf(last_head, sizeof last_head, "%.*s", (int)head, c->buf);
        snprintf(last_body, sizeof last_body, "%.*s", (int)body, c->buf + head);
        pthread_mutex_unlock(&last_lock);
        static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n"
                                    "Content-Length: 2\r\n\r\nok";
        if (write(c->fd, reply, sizeof reply - 1) != (ssize_t)(sizeof reply - 1)) return false;
        memmove(c->buf, c->buf + head + body, c->len - head - body);
        c->len -= head + body;
        c->buf[c->len] = '\0';
    }
}

static void *server_main(void *arg) {
    (void)arg;
    static conn conns[MAX_CONNS];
    int n = 0;
    while (!atomic_load(&stop)) {
        struct pollfd p[MAX_CONNS + 1] = {{.fd = listen_fd, .events = POLLIN}};
        for (int i = 0; i < n; i++)
            p[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        if (poll(p, (nfds_t)n + 1, 50) <= 0) continue;
        for (int i = n - 1; i >= 0; i--) {
            if (!p[i + 1].revents || serve(&conns[i])) continue;
            close(conns[i].fd);
            conns[i] = conns[--n];
        }
        if ((p[0].revents & POLLIN) && n < MAX_CONNS) {
            int fd = accept(listen_fd, NULL, NULL);
            if (fd >= 0) {
                conns[n++] = (conn){.fd = fd};
                atomic_fetch_add(&accepts, 1);
            }
        }
    }
    for (int i = 0; i < n; i++)
        close(conns[i].fd);
    return NULL;
}

static void start_server(pthread_t *t) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(listen_fd >= 0 && bind(listen_fd, (struct sockaddr *)&a, sizeof a) == 0 &&
          listen(listen_fd, 16) == 0 && getsockname(listen_fd, (struct sockaddr *)&a, &len) == 0);
    port = ntohs(a.sin_port);
    CHECK(pthread_create(t, NULL, server_main, NULL) == 0);
}

static void url(char *out, size_t len, const char *path) {
    snprintf(out, len, "http://127.0.0.1:%d%s", port, path);
}

/* One API call; its status (0 on a transport failure, err then set). */
static long call(const char *method, const char *header, const char *body, FILE *file,
                 bool public_only, bool no_proxy, sp_err *err) {
    char u[128];
    url(u, sizeof u, "/api");
    sp_http_req req = {.method = method,
                       .url = u,
                       .headers = {header},
                       .body = body,
                       .body_len = body ? strlen(body) : 0,
                       .body_file = file,
                       .file_offset = 2,
                       .file_length = file ? 5 : 0,
                       .timeout_seconds = 10,
                       .public_only = public_only,
                       .no_proxy = no_proxy};
    sp_http_resp r;
    sp_err_clear(err);
    sp_http_perform(&req, &r, err);
    long status = r.status;
    sp_http_resp_free(&r);
    return status;
}

static bool head_has(const char *needle) {
    pthread_mutex_lock(&last_lock);
    bool has = strstr(last_head, needle) != NULL;
    pthread_mutex_unlock(&last_lock);
    return has;
}

static bool body_is(const char *want) {
    pthread_mutex_lock(&last_lock);
    bool same = strcmp(last_body, want) == 0;
    pthread_mutex_unlock(&last_lock);
    return same;
}

/* One download into a temporary file; its status, err set on failure. */
static long download(bool public_only, sp_err *err) {
    char u[128];
    url(u, sizeof u, "/video.mp4");
    sp_http_download_req req = {.url = u, .max_bytes = 1024, .public_only = public_only};
    FILE *f = tmpfile();
    sp_http_resp r;
    sp_err_clear(err);
    int rc = f ? sp_http_download(&req, f, &r, err) : -1;
    long status = rc == 0 ? r.status : 0;
    if (f) fclose(f);
    sp_http_resp_free(&r);
    return status;
}

static void test_calls_of_one_policy_share_a_connection(void) {
    sp_err err;
    sp_http_client_keep_connections(true);
    CHECK(call("GET", "X-First: 1", NULL, NULL, false, false, &err) == 200);
    CHECK(head_has("X-First: 1"));
    CHECK(call("GET", NULL, NULL, NULL, false, false, &err) == 200);
    CHECK(!head_has("X-First")); /* nothing of the last call's options */
    CHECK(call("PUT", "X-Put: 1", "hello", NULL, false, false, &err) == 200);
    CHECK(body_is("hello") && head_has("PUT /api"));
    FILE *f = tmpfile();
    CHECK(f && fputs("0123456789", f) >= 0 && fflush(f) == 0);
    CHECK(call("PUT", NULL, NULL, f, false, false, &err) == 200);
    CHECK(body_is("23456")); /* the file range, whole */
    if (f) fclose(f);
    CHECK(call("GET", NULL, NULL, NULL, false, false, &err) == 200);
    CHECK(!head_has("Content-Length") && body_is(""));
    CHECK(atomic_load(&accepts) == 1);
}

/* libcurl repeats a request that a reused connection dropped unanswered: a
 * POST (it may publish) must never be sent on one, so it connects afresh. */
static void test_posts_never_ride_a_reused_connection(void) {
    sp_err err;
    int before = atomic_load(&accepts);
    CHECK(call("POST", NULL, "a=1", NULL, false, false, &err) == 200);
    CHECK(body_is("a=1") && head_has("POST /api"));
    CHECK(call("POST", NULL, "a=2", NULL, false, false, &err) == 200);
    CHECK(atomic_load(&accepts) == before + 2);
}

static void test_no_connection_crosses_policies(void) {
    sp_err err;
    int before = atomic_load(&accepts);
    /* a connection to 127.0.0.1 is open (API calls): a public-only call must
     * not ride on it, and its own connect is refused */
    CHECK(call("GET", NULL, NULL, NULL, true, false, &err) == 0);
    CHECK_STR(err.code, "private_address");
    CHECK(download(true, &err) == 0);
    CHECK_STR(err.code, "private_address");
    CHECK(atomic_load(&accepts) == before);
    /* direct calls and downloads get connections of their own, kept too */
    CHECK(call("GET", NULL, NULL, NULL, false, true, &err) == 200);
    CHECK(call("GET", NULL, NULL, NULL, false, true, &err) == 200);
    CHECK(atomic_load(&accepts) == before + 1);
    CHECK(download(false, &err) == 200);
    CHECK(download(false, &err) == 200);
    CHECK(head_has("GET /video.mp4"));
    CHECK(atomic_load(&accepts) == before + 2);
    CHECK(call("GET", NULL, NULL, NULL, false, false, &err) == 200); /* the first, still open */
    CHECK(atomic_load(&accepts) == before + 2);
}

static void test_without_keeping_each_call_connects(void) {
    sp_err err;
    sp_http_client_keep_connections(false);
    int before = atomic_load(&accepts);
    CHECK(call("GET", NULL, NULL, NULL, false, false, &err) == 200);
    CHECK(call("GET", NULL, NULL, NULL, false, false, &err) == 200);
    CHECK(atomic_load(&accepts) == before + 2);
}

/* A form body escapes every name and value, keeps their order, and is
 * refused (NULL) when a value is missing: a token endpoint is never sent a
 * form with a hole in it. */
static void test_form_encoding_escapes_and_refuses_missing_values(void) {
    sp_http_field fields[] = {{"grant_type", "refresh_token"},
                              {"refresh_token", "1//a+b/c=d&e f"},
                              {"client_id", "\xc3\xa9"}};
    char *form = sp_http_form_encode(fields, 3);
    CHECK_STR(form, "grant_type=refresh_token&refresh_token=1%2F%2Fa%2Bb%2Fc%3Dd%26e%20f"
                    "&client_id=%C3%A9");
    free(form);
    char *empty = sp_http_form_encode(fields, 0);
    CHECK_STR(empty, "");
    free(empty);
    sp_http_field missing[] = {{"client_secret", NULL}};
    CHECK(sp_http_form_encode(missing, 1) == NULL);
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sp_http_field large[] = {{"a", big}, {"b", big}};
    char *grown = sp_http_form_encode(large, 2);
    CHECK(grown && strlen(grown) == 2 * (sizeof big - 1) + 5);
    free(grown);
}

int main(void) {
    test_form_encoding_escapes_and_refuses_missing_values();
    /* the environment's proxy would carry the API calls elsewhere */
    const char *proxies[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                             "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
    for (size_t i = 0; i < sizeof proxies / sizeof *proxies; i++)
        unsetenv(proxies[i]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t server;
    start_server(&server);
    test_calls_of_one_policy_share_a_connection();
    test_posts_never_ride_a_reused_connection();
    test_no_connection_crosses_policies();
    test_without_keeping_each_call_connects();
    atomic_store(&stop, true);
    pthread_join(server, NULL);
    close(listen_fd);
    curl_global_cleanup();
    return check_done("http_client");
}
