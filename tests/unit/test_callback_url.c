/* Unit tests of callback_url.c: which callbackUrls a submit may carry. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "webhooks/callback_url.h"

/* Checks url as a C string. */
static int check(const char *url, sp_err *err) {
    return sp_callback_url_check(url, strlen(url), err);
}

static void accepted(const char *url) {
    sp_err err;
    sp_err_clear(&err);
    int rc = check(url, &err);
    CHECK(rc == 0);
    if (rc != 0) fprintf(stderr, "  refused %s: %s\n", url, err.msg);
}

/* Expects url to be refused with a message containing words. */
static void refused(const char *url, size_t len, const char *words) {
    sp_err err;
    sp_err_clear(&err);
    CHECK(sp_callback_url_check(url, len, &err) < 0);
    CHECK(err.kind == SP_ERR_BAD_REQUEST);
    CHECK_STR(err.code, "invalid_callback_url");
    CHECK(strstr(err.msg, words) != NULL);
    if (!strstr(err.msg, words)) fprintf(stderr, "  %.60s: \"%s\"\n", url, err.msg);
}

static void refused_str(const char *url, const char *words) {
    refused(url, strlen(url), words);
}

static void http_and_https_urls_with_hosts_are_accepted(void) {
    accepted("https://example.com");
    accepted("https://example.com/");
    accepted("http://example.com/hooks/social-post?token=abc&x=%2F");
    accepted("HTTPS://Hooks.Example.COM:8443/a/b;c=d/@me");
    accepted("https://example.com?only=query");
    accepted("http://127.0.0.1:8080/"); /* private: judged when sending */
    accepted("http://192.0.2.7");
    accepted("https://[2001:db8::1]:443/x");
    accepted("https://[::1]/");
    accepted("https://xn--bcher-kva.example/");
    accepted("https://a-b.c-d.example/~user/(x)!$'*+,=");
}

static void other_schemes_and_missing_hosts_are_refused(void) {
    refused_str("ftp://example.com/", "http:// or https://");
    refused_str("javascript:alert(1)", "http:// or https://");
    refused_str("//example.com/", "http:// or https://");
    refused_str("https:/example.com/", "http:// or https://");
    refused_str("", "http or https URL");
    refused_str("https://", "no host");
    refused_str("http:///path", "no host");
    refused_str("https://?q", "no host");
    refused_str("https://:443/", "no host");
}

static void credentials_and_fragments_are_refused(void) {
    refused_str("https://user:pass@example.com/", "credentials");
    refused_str("https://user@example.com/", "credentials");
    refused_str("https://@example.com/", "credentials");
    refused_str("https://example.com/hook#frag", "fragment");
    refused_str("https://example.com#", "fragment");
}

static void hosts_and_ports_are_parsed_strictly(void) {
    refused_str("https://example..com/", "host name");
    refused_str("https://.example.com/", "host name");
    refused_str("https://example.com./", "host name");
    refused_str("https://-example.com/", "host name");
    refused_str("https://example-.com/", "host name");
    refused_str("https://exa_mple.com/", "characters a host name cannot have");
    refused_str("https://exa%41mple.com/", "characters a host name cannot have");
    refused_str("http://2130706433/", "dotted");
    refused_str("http://0x7f.1/", "dotted");
    refused_str("http://127.1/", "dotted");
    refused_str("http://010.0.0.1/", "dotted");
    refused_str("http://1.2.3.256/", "dotted");
    refused_str("https://example.123/", "dotted");
    refused_str("http://[::1/", "IPv6");
    refused_str("http://[fe80::1%25eth0]/", "IPv6");
    refused_str("http://[::1]x/", "IPv6");
    refused_str("http://[127.0.0.1]/", "IPv6");
    refused_str("https://example.com:/", "port");
    refused_str("https://example.com:0/", "port outside");
    refused_str("https://example.com:65536/", "port outside");
    refused_str("https://example.com:123456/", "port");
    refused_str("https://example.com:8a/", "port");
    refused_str("https://example.com:80:80/", "port");
    char host[300] = "https://";
    for (int i = 0; i < 64; i++)
        strcat(host, "a");
    strcat(host, ".example/");
    refused_str(host, "host name"); /* a 64-character label */
}

static void characters_outside_the_rules_are_refused(void) {
    refused_str("https://exa mple.com/", "ASCII");
    refused_str("https://example.com/caf\xc3\xa9", "ASCII");
    refused_str("https://example.com/\x7f", "ASCII");
    refused_str("https://example.com/a\tb", "ASCII");
    refused_str("https://example.com/a\\b", "percent-encoded");
    refused_str("https://example.com/a|b", "percent-encoded");
    refused_str("https://example.com/{x}", "percent-encoded");
    refused_str("https://example.com/\"", "percent-encoded");
    refused_str("https://example.com/%", "%-escape");
    refused_str("https://example.com/%4", "%-escape");
    refused_str("https://example.com/%zz", "%-escape");
    refused("https://example.com/\0x", 22, "ASCII"); /* an embedded NUL */
}

static void the_length_limit_is_2048(void) {
    char url[2050];
    strcpy(url, "https://example.com/");
    size_t n = strlen(url);
    memset(url + n, 'a', sizeof url - 1 - n);
    url[2048] = '\0';
    accepted(url);
    url[2048] = 'a';
    url[2049] = '\0';
    refused_str(url, "2048");
}

static void the_origin_leaves_out_path_and_query(void) {
    char out[128];
    sp_callback_url_origin("https://example.com:8443/hooks?token=secret", out, sizeof out);
    CHECK_STR(out, "https://example.com:8443");
    sp_callback_url_origin("http://[::1]?t=1", out, sizeof out);
    CHECK_STR(out, "http://[::1]");
    sp_callback_url_origin("https://example.com", out, sizeof out);
    CHECK_STR(out, "https://example.com");
}

int main(void) {
    http_and_https_urls_with_hosts_are_accepted();
    other_schemes_and_missing_hosts_are_refused();
    credentials_and_fragments_are_refused();
    hosts_and_ports_are_parsed_strictly();
    characters_outside_the_rules_are_refused();
    the_length_limit_is_2048();
    the_origin_leaves_out_path_and_query();
    return check_done("test_callback_url");
}
