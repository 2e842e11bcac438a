/*
 * tokens: the worker's start-up duties for tokens at rest. With
 * SOCIAL_POST_TOKEN_KEYS set, a worker refuses to start while any account
 * still holds a token in clear (--reseal-tokens seals them; --allow-plain-tokens
 * starts anyway, for the time a deployment takes to switch), and
 * --reseal-tokens re-seals every row with the first key, then exits. Without
 * a key, sealed rows are only warned about: their deliveries fail, each
 * naming its account. A database that cannot be asked at start is no reason
 * to stay down (the worker waits for it as always): the check is skipped.
 */
#include "core/log.h"
#include "queue/accounts.h"
#include "worker.h"

int sp_worker_check_tokens(const sp_worker *w) {
    const sp_seal_keys *keys = w->cfg->token_keys;
    if (keys && w->allow_plain_tokens) return 0;
    sp_db *db = sp_db_new(w->cfg->database_url);
    if (!db) {
        sp_log(SP_LOG_ERROR, "out of memory");
        return -1;
    }
    sp_db_set_deadline(db, 10, NULL, NULL);
    sp_err err;
    long long sealed = 0, plain = 0;
    int rc = sp_accounts_count_tokens(db, &sealed, &plain, &err);
    sp_db_free(db);
    if (rc < 0) {
        sp_log(SP_LOG_WARN, "the accounts' tokens were not checked at start: %s", err.msg);
        return 0;
    }
    if (!keys) {
        if (sealed > 0)
            sp_log(SP_LOG_WARN,
                   "%lld account rows hold sealed tokens but SOCIAL_POST_TOKEN_KEYS is not set: "
                   "their deliveries fail until it is",
                   sealed);
        return 0;
    }
    if (plain == 0) return 0;
    sp_log(SP_LOG_ERROR,
           "SOCIAL_POST_TOKEN_KEYS is set but %lld account rows hold tokens in clear: run "
           "social-post-worker --reseal-tokens to seal them (or start with "
           "--allow-plain-tokens to work beside them meanwhile)",
           plain);
    return -1;
}

int sp_worker_reseal_tokens(const sp_worker *w) {
    sp_db *db = sp_db_new(w->cfg->database_url);
    if (!db) {
        sp_log(SP_LOG_ERROR, "out of memory");
        return -1;
    }
    sp_err err;
    sp_reseal_report report;
    int rc = sp_accounts_reseal(db, w->cfg->token_keys, &report, &err);
    sp_db_free(db);
    if (rc < 0) {
        sp_log(SP_LOG_ERROR, "re-sealing stopped: %s", err.msg);
        return -1;
    }
    sp_log(report.failed ? SP_LOG_ERROR : SP_LOG_INFO,
           "re-sealed %lld account rows with key '%s'; %lld did not open (logged above)",
           report.resealed, sp_seal_current_kid(w->cfg->token_keys), report.failed);
    return report.failed ? -1 : 0;
}
