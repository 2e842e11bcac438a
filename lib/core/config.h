/*
 * config: the service's settings, read once from the environment.
 *
 * Every variable of README's configuration table is read here and nowhere else,
 * so the table and this file are the whole story. Values are copied; the struct
 * owns them until sp_config_free. Secrets are held but never logged.
 */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

#include <stdbool.h>

#include "core/err.h"
#include "core/seal.h"

typedef struct {
    char *database_url;            /* DATABASE_URL (required) */
    char *jwt_secret;              /* SUPABASE_JWT_SECRET: HS256 off when NULL */
    char *jwks_file;               /* SUPABASE_JWKS_FILE */
    char *supabase_url;            /* SUPABASE_URL, without a trailing slash */
    char *jwt_audience;            /* JWT_AUDIENCE, default "authenticated" */
    char *cors_allowed_origins;    /* CORS_ALLOWED_ORIGINS: NULL = no CORS */
    char *youtube_upload_url;      /* YOUTUBE_UPLOAD_URL */
    char *youtube_thumbnails_url;  /* YOUTUBE_THUMBNAILS_URL (thumbnails.set) */
    char *google_token_url;        /* GOOGLE_TOKEN_URL */
    char *google_client_id;        /* GOOGLE_CLIENT_ID */
    char *google_client_secret;    /* GOOGLE_CLIENT_SECRET */
    char *graph_version;           /* FACEBOOK_GRAPH_VERSION: of Meta's default URLs */
    char *facebook_graph_url;      /* FACEBOOK_GRAPH_URL */
    char *facebook_video_url;      /* FACEBOOK_VIDEO_URL */
    char *facebook_rupload_url;    /* FACEBOOK_RUPLOAD_URL: where Reels' bytes go */
    char *instagram_graph_url;     /* INSTAGRAM_GRAPH_URL: for Instagram Login tokens */
    char *spool_dir;               /* SOCIAL_POST_SPOOL_DIR */
    char *tiktok_api_url;          /* TIKTOK_API_URL, without a trailing slash */
    char *tiktok_client_key;       /* TIKTOK_CLIENT_KEY: refreshing TikTok tokens */
    char *tiktok_client_secret;    /* TIKTOK_CLIENT_SECRET */
    bool allow_private_video_urls; /* SOCIAL_POST_ALLOW_PRIVATE_VIDEO_URLS=1 */
    /* SOCIAL_POST_WEBHOOK_SECRET ("whsec_<base64>"), decoded: the key that
     * signs webhooks; NULL when unset (a callbackUrl is then refused) */
    unsigned char *webhook_key;
    size_t webhook_key_len;
    bool allow_private_callback_urls; /* SOCIAL_POST_ALLOW_PRIVATE_CALLBACK_URLS=1 */
    bool allow_anonymous_users;       /* SOCIAL_POST_ALLOW_ANONYMOUS_USERS=1 */
    /* Connecting accounts (the HTTP programs' OAuth flows); off while
     * public_url is NULL. */
    char *public_url;          /* SOCIAL_POST_PUBLIC_URL, without a trailing slash */
    char *google_auth_url;     /* GOOGLE_AUTH_URL */
    char *google_revoke_url;   /* GOOGLE_REVOKE_URL */
    char *facebook_app_id;     /* FACEBOOK_APP_ID */
    char *facebook_app_secret; /* FACEBOOK_APP_SECRET */
    char *facebook_auth_url;   /* FACEBOOK_AUTH_URL */
    char *instagram_app_id;    /* INSTAGRAM_APP_ID */
    char *instagram_app_secret; /* INSTAGRAM_APP_SECRET */
    char *instagram_auth_url;  /* INSTAGRAM_AUTH_URL */
    char *instagram_token_url; /* INSTAGRAM_TOKEN_URL */
    char *tiktok_auth_url;     /* TIKTOK_AUTH_URL */
    /* SOCIAL_POST_TOKEN_KEYS, parsed: seals the tokens written to
     * social_accounts (core/seal.h); NULL when unset (tokens stored as given) */
    sp_seal_keys *token_keys;
} sp_config;

/* Fills cfg from the environment. Fails with a message naming the variable
 * when a required one is missing or a value is malformed. */
int sp_config_load(sp_config *cfg, sp_err *err);

/* Frees what sp_config_load allocated; cfg may be partially filled. */
void sp_config_free(sp_config *cfg);

#endif
