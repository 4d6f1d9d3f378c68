import pytest

from schemas.errors import ServingError
from serving.contract import parse_recommend


def test_minimal_request_is_normalised_with_default_warnings():
    req = parse_recommend(b'{"surface": " home ", "user": {"user_id": " u9 "}}')
    assert (req.surface, req.segment, req.k, req.user_id) == ("home", "default", 20, "u9")
    assert [(w.code, w.detail) for w in req.warnings] == [
        ("DEFAULT_APPLIED", "segment defaulted to 'default'"),
        ("DEFAULT_APPLIED", "k defaulted to 20"),
    ]


def test_explicit_values_give_no_warnings():
    req = parse_recommend(b'{"surface":"home","segment":"vip","k":5,"user":{"session_id":"s"}}')
    assert (req.segment, req.k, req.session_id, req.warnings) == ("vip", 5, "s", ())


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{", 400, r"malformed JSON"),
        (b'{"surface":"home","user":{"user_id":"u"}} {}', 400, r"malformed JSON"),
        (b"[1]", 400, r"JSON object"),
        (
            b'{"surface":"home","user":{"user_id":"u"},"tenant_id":"t"}',
            400,
            r"unknown field 'tenant_id'",
        ),
        (
            b'{"surface":"home","user":{"user_id":"u","email":"x"}}',
            400,
            r"unknown field user\.'email'",
        ),
        (b'{"surface":"home","k":"5","user":{"user_id":"u"}}', 400, r"k must be an integer"),
        (b'{"surface":"home","k":true,"user":{"user_id":"u"}}', 400, r"k must be an integer"),
        (b'{"surface":"home","k":0,"user":{"user_id":"u"}}', 422, r"between 1 and 200"),
        (b'{"surface":"home","k":201,"user":{"user_id":"u"}}', 422, r"between 1 and 200"),
        (b'{"user":{"user_id":"u"}}', 422, r"surface is required"),
        (b'{"surface":"a/b","user":{"user_id":"u"}}', 422, r"safe path segment"),
        (b'{"surface":"home","k":5}', 422, r"at least one of user_id"),
        (b'{"surface":"home","user":{"user_id":"  "}}', 422, r"at least one of user_id"),
        (b'{"surface":"home","user":{"user_id":5}}', 400, r"user\.user_id must be a string"),
    ],
)
def test_bad_requests_are_rejected_with_clear_errors(body, status, message):
    with pytest.raises(ServingError, match=message) as err:
        parse_recommend(body)
    assert err.value.status == status
