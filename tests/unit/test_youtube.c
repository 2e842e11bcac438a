/* Unit tests of the YouTube adapter: its phase machine, and its reading of
 * YouTube's documented answers (tests/platform_docs/youtube/, the very bodies
 * the fake answers with) and of the job's options. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/json.h"
#include "platform_docs.h"
#include "platforms/youtube.h"
#include "platforms/youtube_thumbnail.h"

static sp_yt_phase after(sp_yt_phase p, sp_yt_event e) {
    return sp_youtube_phase_after(p, e);
}

static void an_upload_goes_session_uploading_published(void) {
    sp_yt_phase p = SP_YT_SESSION;
    p = after(p, SP_YT_SESSION_OPENED);
    CHECK(p == SP_YT_UPLOADING);
    p = after(p, SP_YT_UPLOADED);
    CHECK(p == SP_YT_PUBLISHED);
}

static void a_forgotten_session_starts_over(void) {
    CHECK(after(SP_YT_UPLOADING, SP_YT_SESSION_LOST) == SP_YT_SESSION);
    CHECK(after(SP_YT_SESSION, SP_YT_SESSION_LOST) == SP_YT_SESSION);
}

static void nothing_skips_a_phase(void) {
    CHECK(after(SP_YT_SESSION, SP_YT_UPLOADED) == SP_YT_SESSION);
    CHECK(after(SP_YT_UPLOADING, SP_YT_SESSION_OPENED) == SP_YT_UPLOADING);
}

static void a_published_video_stays_published(void) {
    CHECK(after(SP_YT_PUBLISHED, SP_YT_SESSION_LOST) == SP_YT_PUBLISHED);
    CHECK(after(SP_YT_PUBLISHED, SP_YT_SESSION_OPENED) == SP_YT_PUBLISHED);
    CHECK(after(SP_YT_PUBLISHED, SP_YT_UPLOADED) == SP_YT_PUBLISHED);
}

static void names_are_what_the_checkpoint_and_retry_read(void) {
    CHECK_STR(sp_youtube_phase_name(SP_YT_SESSION), "session");
    CHECK_STR(sp_youtube_phase_name(SP_YT_UPLOADING), "uploading");
    CHECK_STR(sp_youtube_phase_name(SP_YT_PUBLISHED), "published");
    CHECK_STR(sp_youtube_phase_name(SP_YT_PHASES), "unknown");
}

static void ranges_give_the_next_offset_within_the_video(void) {
    long long off = -7;
    CHECK(sp_youtube_parse_range("", 100, &off) && off == 0); /* nothing stored yet */
    CHECK(sp_youtube_parse_range("bytes=0-0", 100, &off) && off == 1);
    CHECK(sp_youtube_parse_range("bytes=0-8388607", 16777216, &off) && off == 8388608);
    CHECK(sp_youtube_parse_range("bytes=0-99", 100, &off) && off == 100);
    off = -7;
    /* each of these once overflowed, went negative or past the file */
    CHECK(!sp_youtube_parse_range("bytes=0-9223372036854775807", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=0-9223372036854775806", 1LL << 62, &off));
    CHECK(!sp_youtube_parse_range("bytes=0--50", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=0-100", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=5-10", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=0-", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=0-1x", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=0-+1", 100, &off));
    CHECK(!sp_youtube_parse_range("0-10", 100, &off));
    CHECK(off == -7);
}

/* An answer with status and body, for the classifier. */
static sp_yt_class classify(long status, const char *body, sp_step_outcome *out) {
    sp_http_resp r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.body = (char *)body;
    r.retry_after = -1;
    return sp_youtube_classify(&r, out);
}

static void answers_are_classified_once(void) {
    sp_step_outcome out;
    CHECK(classify(200, "{}", &out) == SP_YT_OK);
    CHECK(classify(308, NULL, &out) == SP_YT_OK);
    CHECK(classify(0, NULL, &out) == SP_YT_TRANSIENT && out.kind == SP_STEP_RETRY);
    CHECK(classify(401, NULL, &out) == SP_YT_AUTH && strstr(out.message, "reconnect"));
    CHECK(classify(404, NULL, &out) == SP_YT_SESSION_GONE);
    CHECK(classify(503, "<html>", &out) == SP_YT_TRANSIENT);
    CHECK(classify(400, "{\"error\":{\"message\":7,\"errors\":\"x\"}}", &out) == SP_YT_PERMANENT);
}

/* A documented answer (tests/platform_docs/youtube/<name>.json) as received. */
typedef struct {
    cJSON *doc;
    char *body;
    sp_http_resp r;
} doc_answer;

static void doc_open(doc_answer *a, const char *platform, const char *name) {
    a->doc = sp_doc_load(platform, name);
    a->body = sp_doc_body_text(a->doc);
    memset(&a->r, 0, sizeof a->r);
    a->r.status = sp_doc_status(a->doc);
    a->r.body = a->body;
    a->r.retry_after = -1;
    const char *range = sp_doc_header(a->doc, "Range");
    const char *location = sp_doc_header(a->doc, "Location");
    snprintf(a->r.range, sizeof a->r.range, "%s", range ? range : "");
    snprintf(a->r.location, sizeof a->r.location, "%s", location ? location : "");
}

static void doc_close(doc_answer *a) {
    free(a->body);
    cJSON_Delete(a->doc);
}

/* The class of a documented answer received at now, its outcome in out. */
static sp_yt_class doc_class(const char *name, time_t now, sp_step_outcome *out) {
    doc_answer a;
    doc_open(&a, "youtube", name);
    sp_yt_class c = sp_youtube_classify_at(&a.r, now, out);
    doc_close(&a);
    return c;
}

#define DEC_6_2026_0400Z 1796529600 /* 20:00 on 5 December in Pacific standard time */

static void documented_errors_are_classified_as_documented(void) {
    sp_step_outcome out;
    CHECK(doc_class("videos_insert_session", DEC_6_2026_0400Z, &out) == SP_YT_OK);
    CHECK(doc_class("upload_chunk_308", DEC_6_2026_0400Z, &out) == SP_YT_OK);
    CHECK(doc_class("upload_complete", DEC_6_2026_0400Z, &out) == SP_YT_OK);
    CHECK(doc_class("upload_complete_unaudited", DEC_6_2026_0400Z, &out) == SP_YT_OK);
    CHECK(doc_class("session_not_found", DEC_6_2026_0400Z, &out) == SP_YT_SESSION_GONE);
    CHECK(doc_class("session_gone", DEC_6_2026_0400Z, &out) == SP_YT_SESSION_GONE);
    CHECK(doc_class("backend_error", DEC_6_2026_0400Z, &out) == SP_YT_TRANSIENT);
    CHECK(doc_class("rate_limit_exceeded", DEC_6_2026_0400Z, &out) == SP_YT_TRANSIENT);
    CHECK(out.kind == SP_STEP_RETRY);
    CHECK(doc_class("user_rate_limit_exceeded", DEC_6_2026_0400Z, &out) == SP_YT_TRANSIENT);
    CHECK(doc_class("auth_error", DEC_6_2026_0400Z, &out) == SP_YT_AUTH);
}

static void a_channel_less_account_is_told_to_create_a_channel(void) {
    sp_step_outcome out;
    /* once read as an expired token: refreshed, then "reconnect" */
    CHECK(doc_class("youtube_signup_required", DEC_6_2026_0400Z, &out) == SP_YT_PERMANENT);
    CHECK(out.kind == SP_STEP_FAILED);
    CHECK(strstr(out.message, "create a YouTube channel for this account") != NULL);
    CHECK(strstr(out.message, "reconnect") == NULL);
}

static void quotas_wait_for_their_reset_instead_of_failing(void) {
    sp_step_outcome out;
    /* quotaExceeded once failed the post at once */
    CHECK(doc_class("quota_exceeded", DEC_6_2026_0400Z, &out) == SP_YT_WAIT);
    CHECK(out.kind == SP_STEP_WAIT && out.delay == 4 * 3600); /* midnight PST = 08:00Z */
    CHECK(out.quota); /* the job shows it waiting for the quota, no attempt counted */
    CHECK(strstr(out.message, "midnight Pacific time") != NULL);
    /* uploadLimitExceeded once failed as "rejected the upload" */
    CHECK(doc_class("upload_limit_exceeded", DEC_6_2026_0400Z, &out) == SP_YT_WAIT);
    CHECK(out.kind == SP_STEP_WAIT && out.delay == 86400 && out.quota);
    CHECK(strstr(out.message, "24 hours") != NULL);
}

static void the_quota_resets_at_midnight_pacific_time_across_dst(void) {
    CHECK(sp_youtube_quota_reset_in(DEC_6_2026_0400Z) == 4 * 3600);
    CHECK(sp_youtube_quota_reset_in(1782889199) == 1);    /* 23:59:59 PDT, 30 June */
    CHECK(sp_youtube_quota_reset_in(1772953200) == 3600); /* 23:00 PST, 7 March */
    CHECK(sp_youtube_quota_reset_in(1772960400) ==
          22 * 3600);                                     /* 01:00 PST, 8 March: DST starts at 2 */
    CHECK(sp_youtube_quota_reset_in(1793512800) == 3600); /* 23:00 PDT, 31 October */
    CHECK(sp_youtube_quota_reset_in(1793527200) == 22 * 3600);        /* 02:00 PST, 1 November */
    CHECK(sp_youtube_quota_reset_in(1772960400 - 3600) == 3600 * 23); /* 00:00 PST, 8 March */
}

/* The offset a documented 308 names. */
static long long doc_offset(const char *name, long long total) {
    doc_answer a;
    doc_open(&a, "youtube", name);
    long long off = -1;
    if (!sp_youtube_parse_range(a.r.range, total, &off)) off = -2;
    doc_close(&a);
    return off;
}

static void documented_308s_give_the_next_offset(void) {
    CHECK(doc_offset("upload_chunk_308", 3000000) == 1000000);
    CHECK(doc_offset("upload_chunk_308_no_range", 3000000) == 0);
    CHECK(doc_offset("upload_status_probe", 3000000) == 2469136);
}

static void the_finished_upload_says_how_it_was_published(void) {
    char id[64], privacy[64];
    doc_answer a;
    doc_open(&a, "youtube", "upload_complete");
    CHECK(sp_youtube_parse_video(a.body, id, sizeof id, privacy, sizeof privacy));
    CHECK_STR(id, "Ks-_Mh1QhMc");
    CHECK_STR(privacy, "public");
    doc_close(&a);
    doc_open(&a, "youtube", "upload_complete_unaudited"); /* asked public, made private */
    CHECK(sp_youtube_parse_video(a.body, id, sizeof id, privacy, sizeof privacy));
    CHECK_STR(privacy, "private");
    doc_close(&a);
    CHECK(!sp_youtube_parse_video("{\"status\":{}}", id, sizeof id, privacy, sizeof privacy));
    CHECK(!sp_youtube_parse_video(NULL, id, sizeof id, privacy, sizeof privacy));
    CHECK(sp_youtube_parse_video("{\"id\":\"x\",\"status\":{\"privacyStatus\":3}}", id, sizeof id,
                                 privacy, sizeof privacy));
    CHECK_STR(privacy, "");
}

/* The thumbnail verdict on a documented thumbnails.set answer. */
static bool doc_thumbnail(const char *name, char *why, size_t len) {
    doc_answer a;
    doc_open(&a, "youtube", name);
    bool ok = sp_youtube_thumbnail_answer(&a.r, why, len);
    doc_close(&a);
    return ok;
}

static void thumbnail_answers_say_what_went_wrong(void) {
    char why[256];
    CHECK(doc_thumbnail("thumbnails_set", why, sizeof why) && why[0] == '\0');
    CHECK(!doc_thumbnail("thumbnails_set_invalid_image", why, sizeof why));
    CHECK(strstr(why, "invalidImage") && strstr(why, "invalid"));
    CHECK(!doc_thumbnail("thumbnails_set_forbidden", why, sizeof why));
    CHECK(strstr(why, "verified") != NULL);
    CHECK(!doc_thumbnail("thumbnails_set_video_not_found", why, sizeof why));
    CHECK(strstr(why, "videoNotFound") != NULL);
    CHECK(!doc_thumbnail("thumbnails_set_rate_limit", why, sizeof why));
    CHECK(strstr(why, "uploadRateLimitExceeded") != NULL);
}

static void a_thumbnail_on_a_private_address_is_refused_unless_allowed(void) {
    sp_config cfg = {.allow_private_video_urls = false};
    sp_yt_image img;
    char why[256];
    CHECK(!sp_youtube_thumbnail_fetch(&cfg, "http://127.0.0.1:9/thumb.jpg", &img, why, sizeof why));
    CHECK(strstr(why, "private") != NULL && img.file == NULL);
    cfg.allow_private_video_urls = true; /* then it is tried (nothing listens on port 9) */
    CHECK(!sp_youtube_thumbnail_fetch(&cfg, "http://127.0.0.1:9/thumb.jpg", &img, why, sizeof why));
    CHECK(strstr(why, "private") == NULL && img.file == NULL);
}

static void only_a_known_short_gets_a_shorts_url(void) {
    char url[128];
    CHECK(sp_youtube_is_short(1080, 1920, 30) && sp_youtube_is_short(1080, 1080, 180));
    CHECK(!sp_youtube_is_short(1920, 1080, 30));    /* landscape */
    CHECK(!sp_youtube_is_short(1080, 1920, 180.5)); /* over three minutes */
    CHECK(!sp_youtube_is_short(0, 0, 0) && !sp_youtube_is_short(1080, 1920, 0));
    sp_youtube_post_url("abc", false, url, sizeof url);
    CHECK_STR(url, "https://www.youtube.com/watch?v=abc");
    sp_youtube_post_url("abc", true, url, sizeof url);
    CHECK_STR(url, "https://www.youtube.com/shorts/abc");
}

/* The videos.insert body and query for options (JSON text) as a cJSON. */
static cJSON *metadata_for(const char *options, char *query, size_t qlen) {
    sp_post post = {.title = "T", .description = "D", .options = cJSON_Parse(options)};
    char *text = sp_youtube_metadata(&post);
    sp_youtube_insert_query(&post, query, qlen);
    cJSON *out = cJSON_Parse(text);
    free(text);
    cJSON_Delete(post.options);
    return out;
}

static const char *member(const cJSON *root, const char *part, const char *name) {
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(root, part), name);
    return cJSON_IsString(v)  ? v->valuestring
           : cJSON_IsTrue(v)  ? "true"
           : cJSON_IsFalse(v) ? "false"
                              : NULL;
}

static void options_become_the_documented_members(void) {
    char q[128];
    cJSON *m =
        metadata_for("{\"privacyStatus\":\"unlisted\",\"tags\":[\"a\",\"b\"],\"categoryId\":\"10\","
                     "\"madeForKids\":true,\"notifySubscribers\":false}",
                     q, sizeof q);
    CHECK_STR(member(m, "status", "privacyStatus"), "unlisted");
    CHECK_STR(member(m, "status", "selfDeclaredMadeForKids"), "true");
    CHECK_STR(member(m, "snippet", "categoryId"), "10");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "snippet"), "tags")) == 2);
    CHECK_STR(q, "uploadType=resumable&part=snippet,status&notifySubscribers=false");
    cJSON_Delete(m);
    /* none, or of the wrong type: what we always sent */
    m = metadata_for("{\"privacyStatus\":1,\"categoryId\":22,\"madeForKids\":\"yes\","
                     "\"notifySubscribers\":0,\"tags\":\"x\"}",
                     q, sizeof q);
    CHECK_STR(member(m, "status", "privacyStatus"), "public");
    CHECK_STR(member(m, "status", "selfDeclaredMadeForKids"), "false");
    CHECK_STR(member(m, "snippet", "categoryId"), "22");
    CHECK(!cJSON_GetObjectItem(cJSON_GetObjectItem(m, "snippet"), "tags"));
    CHECK_STR(q, "uploadType=resumable&part=snippet,status");
    cJSON_Delete(m);
    m = metadata_for("{\"notifySubscribers\":true}", q, sizeof q);
    CHECK_STR(q, "uploadType=resumable&part=snippet,status&notifySubscribers=true");
    cJSON_Delete(m);
}

static void google_messages_are_cut_on_a_character_boundary(void) {
    char body[2048] = "{\"error\":{\"message\":\"";
    size_t n = strlen(body);
    for (int i = 0; i < 200; i++, n += 3)
        memcpy(body + n, "\xe7\x84\xa1", 3); /* a three-byte character */
    snprintf(body + n, sizeof body - n, "\"}}");
    sp_step_outcome out;
    CHECK(classify(400, body, &out) == SP_YT_PERMANENT);
    CHECK(sp_utf8_valid(out.message, strlen(out.message)));
}

int main(void) {
    ranges_give_the_next_offset_within_the_video();
    answers_are_classified_once();
    documented_errors_are_classified_as_documented();
    a_channel_less_account_is_told_to_create_a_channel();
    quotas_wait_for_their_reset_instead_of_failing();
    the_quota_resets_at_midnight_pacific_time_across_dst();
    documented_308s_give_the_next_offset();
    the_finished_upload_says_how_it_was_published();
    thumbnail_answers_say_what_went_wrong();
    only_a_known_short_gets_a_shorts_url();
    a_thumbnail_on_a_private_address_is_refused_unless_allowed();
    options_become_the_documented_members();
    google_messages_are_cut_on_a_character_boundary();
    an_upload_goes_session_uploading_published();
    a_forgotten_session_starts_over();
    nothing_skips_a_phase();
    a_published_video_stays_published();
    names_are_what_the_checkpoint_and_retry_read();
    return check_done("test_youtube");
}
