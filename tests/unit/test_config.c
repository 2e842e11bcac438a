/* Unit tests of config.c's Meta settings: one Graph API version behind every
 * Meta default URL, URLs set in the environment used as given. */
#include <stdlib.h>

#include "check.h"
#include "core/config.h"

/* Loads the configuration from a clean environment plus the given pairs. */
static int load(sp_config *cfg, const char *const *pairs) {
    static const char *const meta[] = {"FACEBOOK_GRAPH_VERSION", "FACEBOOK_GRAPH_URL",
                                       "FACEBOOK_VIDEO_URL", "FACEBOOK_RUPLOAD_URL",
                                       "INSTAGRAM_GRAPH_URL"};
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++)
        unsetenv(meta[i]);
    setenv("DATABASE_URL", "postgres://localhost/db", 1);
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        setenv(pairs[i], pairs[i + 1], 1);
    sp_err err;
    return sp_config_load(cfg, &err);
}

/* Issue 15 item 4: a current default (v21.0 is retired on 21 January 2027). */
static void every_meta_default_uses_the_current_version(void) {
    sp_config cfg;
    CHECK(load(&cfg, NULL) == 0);
    CHECK_STR(cfg.graph_version, "v27.0");
    CHECK_STR(cfg.facebook_graph_url, "https://graph.facebook.com/v27.0");
    CHECK_STR(cfg.facebook_video_url, "https://graph-video.facebook.com/v27.0");
    CHECK_STR(cfg.facebook_rupload_url, "https://rupload.facebook.com/video-upload/v27.0");
    CHECK_STR(cfg.instagram_graph_url, "https://graph.instagram.com/v27.0");
    sp_config_free(&cfg);
}

static void one_setting_moves_every_default(void) {
    sp_config cfg;
    const char *const pairs[] = {"FACEBOOK_GRAPH_VERSION", "v26.0", NULL};
    CHECK(load(&cfg, pairs) == 0);
    CHECK_STR(cfg.facebook_graph_url, "https://graph.facebook.com/v26.0");
    CHECK_STR(cfg.facebook_video_url, "https://graph-video.facebook.com/v26.0");
    CHECK_STR(cfg.facebook_rupload_url, "https://rupload.facebook.com/video-upload/v26.0");
    CHECK_STR(cfg.instagram_graph_url, "https://graph.instagram.com/v26.0");
    sp_config_free(&cfg);
}

/* A deployment's FACEBOOK_GRAPH_URL keeps working as it was written. */
static void urls_set_by_a_deployment_are_used_as_given(void) {
    sp_config cfg;
    const char *const pairs[] = {"FACEBOOK_GRAPH_URL", "https://graph.facebook.com/v23.0/",
                                 "INSTAGRAM_GRAPH_URL", "http://127.0.0.1:9/instagram/v27.0", NULL};
    CHECK(load(&cfg, pairs) == 0);
    CHECK_STR(cfg.facebook_graph_url, "https://graph.facebook.com/v23.0");
    CHECK_STR(cfg.instagram_graph_url, "http://127.0.0.1:9/instagram/v27.0");
    CHECK_STR(cfg.facebook_video_url, "https://graph-video.facebook.com/v27.0");
    sp_config_free(&cfg);
}

static void a_malformed_version_is_refused(void) {
    const char *bad[] = {"27.0", "v27", "v27.0/", "latest", "v1234.0", "v27.0x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sp_config cfg;
        const char *const pairs[] = {"FACEBOOK_GRAPH_VERSION", bad[i], NULL};
        CHECK(load(&cfg, pairs) < 0);
        sp_config_free(&cfg);
    }
}

int main(void) {
    every_meta_default_uses_the_current_version();
    one_setting_moves_every_default();
    urls_set_by_a_deployment_are_used_as_given();
    a_malformed_version_is_refused();
    return check_done("test_config");
}
