/*
 * config: environment -> sp_config. Defaults are the real platform endpoints;
 * tests and the local sandbox point them at fakes on 127.0.0.1.
 */
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64url.h"

/* The Graph API version the Meta defaults use: the newest stable one when
 * this was written (Graph API changelog, v27.0 of 4 November 2026). */
#define SP_GRAPH_VERSION_DEFAULT "v27.0"

/* A webhook key's size in bytes (Standard Webhooks: at least 24). */
#define WEBHOOK_KEY_MIN 24
#define WEBHOOK_KEY_MAX 512

/* Returns a copy of the variable, of def when unset or empty, or NULL. */
static char *env_or(const char *name, const char *def) {
    const char *v = getenv(name);
    if (!v || !*v) v = def;
    return v ? strdup(v) : NULL;
}

/* Drops trailing slashes so that "base" + "/path" never doubles them. */
static void trim_slashes(char *s) {
    if (!s) return;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
}

/* The variable's value, or host + "/" + version + tail when unset or
 * empty (a Meta default URL at the configured Graph version). */
static char *env_or_versioned(const char *name, const char *host, const char *version,
                              const char *tail) {
    const char *v = getenv(name);
    if (v && *v) return strdup(v);
    if (!version) return NULL;
    size_t n = strlen(host) + strlen(version) + strlen(tail) + 2;
    char *url = malloc(n);
    if (url) snprintf(url, n, "%s/%s%s", host, version, tail);
    return url;
}

/* True when a Graph API version reads like one: "v" digits "." digits. */
static bool graph_version_valid(const char *v) {
    size_t major = v[0] == 'v' ? strspn(v + 1, "0123456789") : 0;
    if (major == 0 || major > 3 || v[1 + major] != '.') return false;
    size_t minor = strspn(v + 2 + major, "0123456789");
    return minor > 0 && minor <= 2 && v[2 + major + minor] == '\0';
}

/* True when the variable is exactly "1". */
static bool env_flag(const char *name) {
    const char *v = getenv(name);
    return v && strcmp(v, "1") == 0;
}

/* Decodes SOCIAL_POST_WEBHOOK_SECRET: "whsec_" and the base64 of the key, as
 * Standard Webhooks writes secrets ("v1,whsec_...", as Supabase shows them,
 * is accepted too). The message never repeats the value. */
static int load_webhook_key(sp_config *cfg, sp_err *err) {
    const char *v = getenv("SOCIAL_POST_WEBHOOK_SECRET");
    if (!v || !*v) return 0;
    if (strncmp(v, "v1,", 3) == 0) v += 3;
    sp_err decode_err;
    if (strncmp(v, "whsec_", 6) != 0 ||
        sp_b64_decode(v + 6, strlen(v + 6), &cfg->webhook_key, &cfg->webhook_key_len, &decode_err) <
            0 ||
        cfg->webhook_key_len < WEBHOOK_KEY_MIN || cfg->webhook_key_len > WEBHOOK_KEY_MAX) {
        free(cfg->webhook_key);
        cfg->webhook_key = NULL;
        cfg->webhook_key_len = 0;
        return sp_err_set(err, SP_ERR_INTERNAL, "config",
                          "SOCIAL_POST_WEBHOOK_SECRET must be whsec_ followed by the base64 of "
                          "%d to %d random bytes (e.g. whsec_$(openssl rand -base64 32))",
                          WEBHOOK_KEY_MIN, WEBHOOK_KEY_MAX);
    }
    return 0;
}

/* TikTok's Open API base and the app's credentials for refreshing tokens. */
static int load_tiktok(sp_config *cfg, sp_err *err) {
    cfg->tiktok_api_url = env_or("TIKTOK_API_URL", "https://open.tiktokapis.com");
    cfg->tiktok_client_key = env_or("TIKTOK_CLIENT_KEY", NULL);
    cfg->tiktok_client_secret = env_or("TIKTOK_CLIENT_SECRET", NULL);
    trim_slashes(cfg->tiktok_api_url);
    if (!cfg->tiktok_api_url)
        return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory reading config");
    return 0;
}

/* The consent pages, token endpoints and app credentials of connecting
 * accounts; SOCIAL_POST_PUBLIC_URL (where the platforms send the browser
 * back) turns it on. */
static int load_connect(sp_config *cfg, sp_err *err) {
    cfg->public_url = env_or("SOCIAL_POST_PUBLIC_URL", NULL);
    cfg->google_auth_url = env_or("GOOGLE_AUTH_URL", "https://accounts.google.com/o/oauth2/v2/auth");
    cfg->google_revoke_url = env_or("GOOGLE_REVOKE_URL", "https://oauth2.googleapis.com/revoke");
    cfg->facebook_app_id = env_or("FACEBOOK_APP_ID", NULL);
    cfg->facebook_app_secret = env_or("FACEBOOK_APP_SECRET", NULL);
    cfg->facebook_auth_url = env_or_versioned("FACEBOOK_AUTH_URL", "https://www.facebook.com",
                                              cfg->graph_version, "/dialog/oauth");
    cfg->instagram_app_id = env_or("INSTAGRAM_APP_ID", NULL);
    cfg->instagram_app_secret = env_or("INSTAGRAM_APP_SECRET", NULL);
    cfg->instagram_auth_url = env_or("INSTAGRAM_AUTH_URL", "https://www.instagram.com/oauth/authorize");
    cfg->instagram_token_url =
        env_or("INSTAGRAM_TOKEN_URL", "https://api.instagram.com/oauth/access_token");
    cfg->tiktok_auth_url = env_or("TIKTOK_AUTH_URL", "https://www.tiktok.com/v2/auth/authorize/");
    trim_slashes(cfg->public_url);
    if (!cfg->google_auth_url || !cfg->google_revoke_url || !cfg->facebook_auth_url ||
        !cfg->instagram_auth_url || !cfg->instagram_token_url || !cfg->tiktok_auth_url)
        return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory reading config");
    if (cfg->public_url && strncmp(cfg->public_url, "https://", 8) != 0 &&
        strncmp(cfg->public_url, "http://", 7) != 0)
        return sp_err_set(err, SP_ERR_INTERNAL, "config",
                          "SOCIAL_POST_PUBLIC_URL must be an http(s) URL (the service's public "
                          "base, e.g. https://example.com)");
    return 0;
}

int sp_config_load(sp_config *cfg, sp_err *err) {
    memset(cfg, 0, sizeof *cfg);
    cfg->database_url = env_or("DATABASE_URL", NULL);
    cfg->jwt_secret = env_or("SUPABASE_JWT_SECRET", NULL);
    cfg->jwks_file = env_or("SUPABASE_JWKS_FILE", NULL);
    cfg->supabase_url = env_or("SUPABASE_URL", NULL);
    cfg->jwt_audience = env_or("JWT_AUDIENCE", "authenticated");
    cfg->cors_allowed_origins = env_or("CORS_ALLOWED_ORIGINS", NULL);
    cfg->youtube_upload_url =
        env_or("YOUTUBE_UPLOAD_URL", "https://www.googleapis.com/upload/youtube/v3/videos");
    cfg->youtube_thumbnails_url = env_or(
        "YOUTUBE_THUMBNAILS_URL", "https://www.googleapis.com/upload/youtube/v3/thumbnails/set");
    cfg->google_token_url = env_or("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token");
    cfg->google_client_id = env_or("GOOGLE_CLIENT_ID", NULL);
    cfg->google_client_secret = env_or("GOOGLE_CLIENT_SECRET", NULL);
    cfg->graph_version = env_or("FACEBOOK_GRAPH_VERSION", SP_GRAPH_VERSION_DEFAULT);
    const char *ver = cfg->graph_version;
    cfg->facebook_graph_url =
        env_or_versioned("FACEBOOK_GRAPH_URL", "https://graph.facebook.com", ver, "");
    cfg->facebook_video_url =
        env_or_versioned("FACEBOOK_VIDEO_URL", "https://graph-video.facebook.com", ver, "");
    cfg->facebook_rupload_url = env_or_versioned(
        "FACEBOOK_RUPLOAD_URL", "https://rupload.facebook.com/video-upload", ver, "");
    cfg->instagram_graph_url =
        env_or_versioned("INSTAGRAM_GRAPH_URL", "https://graph.instagram.com", ver, "");
    cfg->spool_dir = env_or("SOCIAL_POST_SPOOL_DIR", NULL);
    /* video and callback URLs are the users' own input: private addresses
     * only when asked */
    cfg->allow_private_video_urls = env_flag("SOCIAL_POST_ALLOW_PRIVATE_VIDEO_URLS");
    cfg->allow_private_callback_urls = env_flag("SOCIAL_POST_ALLOW_PRIVATE_CALLBACK_URLS");
    /* Supabase's anonymous sign-ins carry role authenticated too */
    cfg->allow_anonymous_users = env_flag("SOCIAL_POST_ALLOW_ANONYMOUS_USERS");
    trim_slashes(cfg->supabase_url);
    trim_slashes(cfg->youtube_upload_url);
    trim_slashes(cfg->youtube_thumbnails_url);
    trim_slashes(cfg->facebook_graph_url);
    trim_slashes(cfg->facebook_video_url);
    trim_slashes(cfg->facebook_rupload_url);
    trim_slashes(cfg->instagram_graph_url);
    if (!cfg->jwt_audience || !cfg->youtube_upload_url || !cfg->youtube_thumbnails_url ||
        !cfg->google_token_url || !cfg->facebook_graph_url || !cfg->facebook_video_url ||
        !cfg->graph_version || !cfg->facebook_rupload_url || !cfg->instagram_graph_url)
        return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory reading config");
    if (!graph_version_valid(cfg->graph_version))
        return sp_err_set(err, SP_ERR_INTERNAL, "config",
                          "FACEBOOK_GRAPH_VERSION must be a Graph API version such as %s",
                          SP_GRAPH_VERSION_DEFAULT);
    if (!cfg->database_url)
        return sp_err_set(err, SP_ERR_INTERNAL, "config",
                          "DATABASE_URL is not set (a libpq connection string or URI)");
    if (load_tiktok(cfg, err) < 0) return -1;
    if (load_connect(cfg, err) < 0) return -1;
    if (sp_seal_keys_parse(getenv("SOCIAL_POST_TOKEN_KEYS"), &cfg->token_keys, err) < 0) return -1;
    return load_webhook_key(cfg, err);
}

void sp_config_free(sp_config *cfg) {
    char **fields[] = {&cfg->database_url,       &cfg->jwt_secret,
                       &cfg->jwks_file,          &cfg->supabase_url,
                       &cfg->jwt_audience,       &cfg->cors_allowed_origins,
                       &cfg->youtube_upload_url, &cfg->google_token_url,
                       &cfg->google_client_id,   &cfg->google_client_secret,
                       &cfg->facebook_graph_url, &cfg->facebook_video_url,
                       &cfg->spool_dir,          &cfg->youtube_thumbnails_url,
                       &cfg->tiktok_api_url,     &cfg->tiktok_client_key,
                       &cfg->tiktok_client_secret, &cfg->public_url,
                       &cfg->google_auth_url,    &cfg->google_revoke_url,
                       &cfg->facebook_app_id,    &cfg->facebook_app_secret,
                       &cfg->facebook_auth_url,  &cfg->instagram_app_id,
                       &cfg->instagram_app_secret, &cfg->instagram_auth_url,
                       &cfg->instagram_token_url, &cfg->tiktok_auth_url};
    char **meta[] = {&cfg->graph_version, &cfg->facebook_rupload_url, &cfg->instagram_graph_url};
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
        free(*meta[i]);
        *meta[i] = NULL;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
    if (cfg->webhook_key) explicit_bzero(cfg->webhook_key, cfg->webhook_key_len);
    free(cfg->webhook_key);
    cfg->webhook_key = NULL;
    cfg->webhook_key_len = 0;
    sp_seal_keys_free(cfg->token_keys);
    cfg->token_keys = NULL;
}
