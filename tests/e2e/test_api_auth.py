"""Tokens made by an independent library (PyJWT): valid HS256/ES256/RS256 tokens
are accepted; every kind of bad token gets 401 with WWW-Authenticate: Bearer,
on both programs, and nothing is written."""
import json
import time

import sptest

STATUS_UNKNOWN = "/social-post-status?jobId=00000000-0000-4000-8000-000000000000"


def job_count():
    return sptest.sql("SELECT count(*) FROM social_post_jobs")[0][0]


def assert_401(tok, raw_header=None):
    headers = {"Authorization": raw_header} if raw_header is not None else None
    user = sptest.new_user()
    video = sptest.new_video(user)
    before = job_count()
    for method, path, body in (("POST", "/social-post", {"videoId": video, "platforms": ["youtube"]}),
                               ("GET", STATUS_UNKNOWN, None)):
        r = sptest.http(method, path, body, headers=headers, token=tok)
        assert r.status == 401, (path, r.status, r.body)
        assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers
        assert r.json and r.json.get("error") and r.json.get("code"), r.body
        if tok:
            assert tok not in r.body.decode(errors="replace")
    assert job_count() == before


def test_valid_tokens_of_each_algorithm_are_accepted():
    for alg in ("HS256", "ES256", "RS256"):
        user = sptest.new_user()
        video = sptest.new_video(user)
        r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["facebook"]},
                        token=sptest.token(user, alg=alg))
        assert r.status == 202, (alg, r.status, r.body)
        s = sptest.http("GET", f"/social-post-status?jobId={r.json['jobId']}",
                        token=sptest.token(user, alg=alg))
        assert s.status == 200, (alg, s.body)


def test_audience_array_containing_authenticated_is_accepted():
    user = sptest.new_user()
    r = sptest.http("GET", STATUS_UNKNOWN, token=sptest.token(user, aud=["other", "authenticated"]))
    assert r.status == 404, r.body


def test_missing_header_is_401():
    assert_401(None)


def test_non_bearer_scheme_is_401():
    user = sptest.new_user()
    assert_401(None, raw_header="Basic " + sptest.token(user))


def test_expired_token_is_401():
    assert_401(sptest.token(sptest.new_user(), exp_in=-600))


def test_not_yet_valid_token_is_401():
    assert_401(sptest.token(sptest.new_user(), nbf=int(time.time()) + 600))


def test_wrong_audience_is_401():
    assert_401(sptest.token(sptest.new_user(), aud="somebody-else"))


def test_anon_and_service_role_are_401():
    for role in ("anon", "service_role"):
        assert_401(sptest.token(sptest.new_user(), role=role))


def test_token_without_sub_or_exp_is_401():
    assert_401(sptest.token(sptest.new_user(), remove=("sub",)))
    assert_401(sptest.token(sptest.new_user(), remove=("exp",)))
    assert_401(sptest.token("not-a-uuid"))


def test_bad_signature_is_401():
    for alg in ("HS256", "ES256", "RS256"):
        tok = sptest.token(sptest.new_user(), alg=alg)
        head, payload, sig = tok.split(".")
        flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
        assert_401(f"{head}.{payload}.{flipped}")
        # a valid signature over other claims
        other = sptest.token(sptest.new_user(), alg=alg).split(".")[2]
        assert_401(f"{head}.{payload}.{other}")


def claims_for(user):
    now = int(time.time())
    return {"sub": user, "aud": "authenticated", "role": "authenticated",
            "iat": now, "exp": now + 3600}


def test_alg_none_is_401():
    user = sptest.new_user()
    for alg in ("none", "None", "NONE"):
        assert_401(sptest.raw_token({"alg": alg, "typ": "JWT"}, claims_for(user), b""))


def test_hs256_signed_with_public_key_bytes_is_401():
    import hashlib
    import hmac
    user = sptest.new_user()
    st = sptest.state()
    for pub_path, kid in ((st["rsa_public_pem"], st["rsa_kid"]), (st["ec_public_pem"], st["ec_kid"])):
        pub = open(pub_path, "rb").read()
        for header in ({"alg": "HS256", "typ": "JWT"}, {"alg": "HS256", "typ": "JWT", "kid": kid}):
            signing_input = (sptest.b64url(json.dumps(header).encode()) + "." +
                             sptest.b64url(json.dumps(claims_for(user)).encode()))
            sig = hmac.new(pub, signing_input.encode(), hashlib.sha256).digest()
            assert_401(signing_input + "." + sptest.b64url(sig))


def test_algorithm_of_other_key_type_is_401():
    # an ES256 token naming the RSA key, and an RS256 token naming the EC key
    user = sptest.new_user()
    st = sptest.state()
    es = sptest.token(user, alg="ES256").split(".")
    rs = sptest.token(user, alg="RS256").split(".")
    es_on_rsa = sptest.b64url(json.dumps({"alg": "ES256", "kid": st["rsa_kid"]}).encode())
    rs_on_ec = sptest.b64url(json.dumps({"alg": "RS256", "kid": st["ec_kid"]}).encode())
    assert_401(f"{es_on_rsa}.{es[1]}.{es[2]}")
    assert_401(f"{rs_on_ec}.{rs[1]}.{rs[2]}")


def test_unknown_key_id_is_401():
    assert_401(sptest.token(sptest.new_user(), alg="ES256", kid="no-such-key"))


def test_malformed_tokens_are_401():
    user = sptest.new_user()
    good = sptest.token(user).split(".")
    for tok in ("abc", "a.b", "a.b.c.d", "!!!.@@@.###", f"{good[0]}.%%%.{good[2]}",
                sptest.b64url(b"not json") + "." + good[1] + "." + good[2],
                good[0] + "." + sptest.b64url(b"[1,2,3]") + "." + good[2],
                good[0] + "." + sptest.b64url(b"{\"sub\":") + "." + good[2],
                "x" * 7000):
        assert_401(tok)


if __name__ == "__main__":
    sptest.run(globals())
