/*
 * config: environment -> sp_config. Defaults are the real platform endpoints;
 * tests and the local sandbox point them at fakes on 127.0.0.1.
 */
#include "core/config.h"

#include <stdlib.h>
#include <string.h>

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
    cfg->google_token_url = env_or("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token");
    cfg->google_client_id = env_or("GOOGLE_CLIENT_ID", NULL);
    cfg->google_client_secret = env_or("GOOGLE_CLIENT_SECRET", NULL);
    cfg->facebook_graph_url = env_or("FACEBOOK_GRAPH_URL", "https://graph.facebook.com/v21.0");
    cfg->facebook_video_url =
        env_or("FACEBOOK_VIDEO_URL", "https://graph-video.facebook.com/v21.0");
    cfg->spool_dir = env_or("SOCIAL_POST_SPOOL_DIR", NULL);
    /* video URLs are the users' own input: private addresses only when asked */
    const char *priv = getenv("SOCIAL_POST_ALLOW_PRIVATE_VIDEO_URLS");
    cfg->allow_private_video_urls = priv && strcmp(priv, "1") == 0;
    /* Supabase's anonymous sign-ins carry role authenticated too */
    const char *anon = getenv("SOCIAL_POST_ALLOW_ANONYMOUS_USERS");
    cfg->allow_anonymous_users = anon && strcmp(anon, "1") == 0;
    trim_slashes(cfg->supabase_url);
    trim_slashes(cfg->youtube_upload_url);
    trim_slashes(cfg->facebook_graph_url);
    trim_slashes(cfg->facebook_video_url);
    if (!cfg->jwt_audience || !cfg->youtube_upload_url || !cfg->google_token_url ||
        !cfg->facebook_graph_url || !cfg->facebook_video_url)
        return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory reading config");
    if (!cfg->database_url)
        return sp_err_set(err, SP_ERR_INTERNAL, "config",
                          "DATABASE_URL is not set (a libpq connection string or URI)");
    return 0;
}

void sp_config_free(sp_config *cfg) {
    char **fields[] = {&cfg->database_url,       &cfg->jwt_secret,
                       &cfg->jwks_file,          &cfg->supabase_url,
                       &cfg->jwt_audience,       &cfg->cors_allowed_origins,
                       &cfg->youtube_upload_url, &cfg->google_token_url,
                       &cfg->google_client_id,   &cfg->google_client_secret,
                       &cfg->facebook_graph_url, &cfg->facebook_video_url,
                       &cfg->spool_dir};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
}
