/*
 * tokens: the worker's start-up duties for tokens at rest. With
 * SOCIAL_POST_TOKEN_KEYS set, a worker refuses to start while any account
 * still holds a token in clear (--reseal-tokens seals them; --allow-plain-tokens
 * starts anyway, for the time a deployment takes to switch), and
 * --reseal-tokens re-seals every row with the first key, then exits.
 */
#include "core/log.h"
#include "queue/accounts.h"
#include "worker.h"

int sp_worker_check_tokens(const sp_worker *w) {
    if (!w->cfg->token_keys || w->allow_plain_tokens) return 0;
    sp_db *db = sp_db_new(w->cfg->database_url);
    if (!db) {
        sp_log(SP_LOG_ERROR, "out of memory");
        return -1;
    }
    sp_err err;
    long long plain = 0;
    int rc = sp_accounts_count_plain(db, &plain, &err);
    sp_db_free(db);
    if (rc < 0) {
        sp_log(SP_LOG_ERROR, "could not count the accounts' plain tokens: %s", err.msg);
        return -1;
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
